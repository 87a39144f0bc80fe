import { setTimeout as sleep } from 'node:timers/promises';
import { chromium, chromiumLaunchOptions } from './chromium.mjs';
import { startProcess } from './process.mjs';
const daemon = startProcess('d', process.argv[2], ['--bind', '127.0.0.1', '--port', '0', '--ice-address', '127.0.0.1', '--codec', 'h264', '--width', '320', '--height', '240', '--framerate', '15']);
const base = (await daemon.waitFor(/^periscope: open (http:\/\/\S+)/, 20000))[1];
const o = chromiumLaunchOptions('127.0.0.1');
const b = await chromium.launch({ ...o, args: [...o.args, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'] });
try {
  const hook = () => { const O = window.WebSocket; window.WebSocket = class extends O { constructor(...a) { super(...a); this.addEventListener('message', (e) => { const m = JSON.parse(e.data); console.log('<-', m.type, m.from_peer_id || '', m.type === 'error' ? m.message : ''); }); const s = this.send.bind(this); this.send = (d) => { const m = JSON.parse(d); console.log('->', m.type, m.target_peer_id || ''); s(d); }; } }; };
  const pages = [];
  for (const n of ['A', 'B']) {
    const p1 = await (await b.newContext()).newPage();
    await p1.addInitScript(hook);
    p1.on('console', (m) => console.log(n, m.text()));
    await p1.goto(`${base}room/camera`);
    await sleep(1500); await p1.fill('#name', n); await p1.click('#join');
    await sleep(3000);
  }
  await sleep(25000);
} finally {
  await b.close();
  await daemon.stop();
  console.log(daemon.lines.filter((l) => /viewer/.test(l)).join('\n'));
}
