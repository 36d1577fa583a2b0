// Live captions: microphone -> AudioWorklet (16 kHz) -> WebSocket (f32le frames) -> captions.
// State for tests and curious users: window.captions = { finals, partial, status, messages, droppedMs }.
const $ = (id) => document.getElementById(id);
const state = (window.captions = { finals: [], partial: '', status: 'idle', messages: [], error: null });

function setStatus(text) {
  state.status = text;
  $('status').textContent = text;
}

function render() {
  $('finals').replaceChildren(
    ...state.finals.map((text) => {
      const span = document.createElement('span');
      span.className = 'final';
      span.textContent = `${text} `;
      return span;
    }),
  );
  $('partial').textContent = state.partial;
}

let ws = null;
let context = null;
let media = null;
let node = null;

async function start() {
  $('start').disabled = true;
  try {
    const params = new URLSearchParams(location.search);
    const token = params.get('token');
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/ws${token ? `?token=${encodeURIComponent(token)}` : ''}`;
    // Worklet first, then the microphone: capture starts with the first samples the device delivers.
    context = new AudioContext();
    await context.audioWorklet.addModule('worklet.js');
    ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    await new Promise((resolve, reject) => {
      ws.onopen = resolve;
      ws.onerror = () => reject(new Error(`cannot connect to ${url}`));
    });
    ws.onmessage = (e) => onMessage(JSON.parse(e.data));
    ws.onclose = (e) => {
      setStatus(e.code === 1000 ? 'ended' : `closed (${e.code}${e.reason ? `: ${e.reason}` : ''})`);
      state.closeCode = e.code;
      stopAudio();
      $('start').disabled = false;
      $('stop').disabled = true;
    };
    // A microphone cannot wait: if the server falls behind it drops the oldest audio and says so (dropped).
    ws.send(JSON.stringify({ type: 'start', sampleRate: 16000, encoding: 'f32le', overflow: 'drop' }));
    media = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false, autoGainControl: false },
    });
    node = new AudioWorkletNode(context, 'capture-16k', { numberOfInputs: 1, numberOfOutputs: 0, channelCount: 1, channelCountMode: 'explicit' });
    node.port.onmessage = (e) => {
      if (e.data === 'flushed') {
        if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'end' }));
        return;
      }
      if (ws && ws.readyState === WebSocket.OPEN) ws.send(e.data.buffer);
    };
    context.createMediaStreamSource(media).connect(node);
    await context.resume();
    setStatus(`listening (${context.sampleRate} Hz -> 16000 Hz)`);
    $('stop').disabled = false;
  } catch (e) {
    state.error = String(e && e.message ? e.message : e);
    setStatus(`error: ${state.error}`);
    stopAudio();
    $('start').disabled = false;
  }
}

function stop() {
  $('stop').disabled = true;
  setStatus('finishing');
  if (media) for (const track of media.getTracks()) track.stop();
  // The worklet sends its last samples, then 'flushed'; the end message follows them.
  if (node) node.port.postMessage('flush');
  else if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'end' }));
}

function stopAudio() {
  if (media) for (const track of media.getTracks()) track.stop();
  media = null;
  if (context) context.close().catch(() => undefined);
  context = null;
  node = null;
}

function onMessage(msg) {
  state.messages.push(msg);
  switch (msg.type) {
    case 'partial':
      state.partial = msg.text;
      break;
    case 'final':
      if (msg.text && msg.text.trim()) state.finals.push(msg.text.trim());
      state.partial = '';
      break;
    case 'dropped':
      state.droppedMs = msg.totalDroppedMs;
      setStatus(`listening (server behind: ${msg.totalDroppedMs} ms of audio dropped)`);
      break;
    case 'error':
      state.error = msg.message;
      setStatus(`error: ${msg.message}`);
      break;
    case 'end':
      state.ended = true;
      break;
  }
  render();
}

$('start').addEventListener('click', start);
$('stop').addEventListener('click', stop);
