"""What runs in the browser itself: the connection watchdog, the alarm tone and its mute.

The server cannot tell a page that the page has lost the server, so each page
checks for itself: the server bumps a heartbeat (``tags[0]`` of the model
named ``alarm``) every second, and a timer in the page shows a NOT MONITORING
overlay when no heartbeat has arrived for `CLIENT_LOST_MS`, then reloads the
page as soon as the server answers again.

The same timer sounds the alarm (Web Audio, three 880 Hz pulses every 3 s)
while the server lists alarm keys in ``tags[1]`` (unacknowledged high alerts
and beds not monitored) or the page has lost the server. "Silence" mutes the
tone for `MUTE_S` seconds for the alarms present at that moment; a new alarm
sounds at once. The mute and the technician's name are kept in the browser's
``localStorage``, so they follow the technician from the ward to a bed.

WebGL emulated in software (no GPU: SwiftShader, llvmpipe) is far slower than
a plain canvas. A probe in the head of every page, before BokehJS draws
anything, looks at the WebGL renderer once and remembers ``canvas`` or
``webgl`` in the ``eegmon_render`` cookie; the server draws bed pages the way
the cookie (or a ``render=`` argument) says, and a bed page opened before the
cookie existed reloads itself once.

State for tests and curious people: ``window.eegmon`` (``beeps``, ``muted``,
``lost``, ``keys``, ``ticks``).
"""

from __future__ import annotations

from bokeh.core.templates import get_env
from bokeh.document import Document
from bokeh.models import CustomJS
from bokeh.models.widgets import Button, Div, TextInput

#: Without a heartbeat for this long, the page declares itself disconnected.
CLIENT_LOST_MS = 3500
#: Seconds of silence given by the Silence button.
MUTE_S = 120
#: Seconds between the server's heartbeats.
HEARTBEAT_S = 1.0

_WATCHDOG = """
const E = window.eegmon || (window.eegmon = {
  beeps: 0, ticks: 0, beat: null, lastBeat: Date.now(), lastTone: 0, lastProbe: 0, ctx: null,
  lost: false, muted: false, keys: [], audio: 'not started'
});
E.alarm = alarm;
E.mute = mute;
const LOST_MS = __LOST_MS__, MUTE_MS = __MUTE_MS__;

function tone() {
  try {
    const AC = window.AudioContext || window.webkitAudioContext;
    if (!AC) { E.audio = 'unsupported'; return; }
    if (!E.ctx) { E.ctx = new AC(); }
    const ctx = E.ctx;
    if (ctx.state === 'suspended') { ctx.resume(); }
    const start = ctx.currentTime + 0.02;
    for (let i = 0; i < 3; i++) {
      const t = start + i * 0.25;
      const osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.type = 'square';
      osc.frequency.value = 880;
      gain.gain.setValueAtTime(0, t);
      gain.gain.linearRampToValueAtTime(0.15, t + 0.02);
      gain.gain.setValueAtTime(0.15, t + 0.15);
      gain.gain.linearRampToValueAtTime(0, t + 0.18);
      osc.connect(gain);
      gain.connect(ctx.destination);
      osc.start(t);
      osc.stop(t + 0.2);
    }
    E.beeps += 1;
    E.audio = ctx.state;
  } catch (err) {
    E.audio = 'error: ' + err;
  }
}

function overlay(lostFor) {
  let el = document.getElementById('eegmon-client-lost');
  if (lostFor === null) { if (el) { el.remove(); } return; }
  if (!el) {
    el = document.createElement('div');
    el.id = 'eegmon-client-lost';
    el.className = 'eegmon-client-lost';
    el.setAttribute('role', 'alert');
    el.style.cssText = 'position:fixed;top:0;left:0;right:0;z-index:10000;padding:18px 24px;'
      + 'background:#b71c1c;color:#fff;font:bold 30px/1.3 sans-serif;'
      + 'box-shadow:0 4px 12px rgba(0,0,0,.4)';
    document.body.appendChild(el);
  }
  el.textContent = 'NOT MONITORING \u2014 this screen lost its connection to the dashboard '
    + 'server ' + Math.round(lostFor / 1000) + ' s ago; alarms cannot reach it. '
    + 'It reloads itself when the server answers.';
}

function tick() {
  const now = Date.now();
  E.ticks += 1;
  const tags = E.alarm.tags || [];
  if (tags[0] !== E.beat) { E.beat = tags[0]; E.lastBeat = now; }
  E.lost = now - E.lastBeat > LOST_MS;
  overlay(E.lost ? now - E.lastBeat : null);
  if (E.lost && now - E.lastProbe > 3000) {
    E.lastProbe = now;
    fetch(window.location.href, {cache: 'no-store'})
      .then((r) => { if (r.ok) { window.location.reload(); } })
      .catch(() => {});
  }
  const keys = (Array.isArray(tags[1]) ? tags[1].slice() : []);
  if (E.lost) { keys.push('dashboard-connection'); }
  E.keys = keys;
  const until = Number(localStorage.getItem('eegmon.mutedUntil') || 0);
  const mutedKeys = JSON.parse(localStorage.getItem('eegmon.mutedKeys') || '[]');
  E.muted = now < until && keys.every((k) => mutedKeys.includes(k));
  if (now < until && !E.muted) {  // a new alarm ends the silence
    localStorage.removeItem('eegmon.mutedUntil');
  }
  let label;
  if (E.muted) {
    const left = Math.ceil((until - now) / 1000);
    label = 'Silenced ' + Math.floor(left / 60) + ':' + String(left % 60).padStart(2, '0')
      + ' (click to sound)';
  } else if (keys.length && E.ctx && E.ctx.state === 'suspended') {
    label = 'Sound blocked: click here';
  } else {
    label = 'Silence alarm ' + Math.round(MUTE_MS / 60000) + ' min';
  }
  if (E.mute && E.mute.label !== label) { E.mute.label = label; }
  if (keys.length && !E.muted && now - E.lastTone >= 3000) {
    E.lastTone = now;
    tone();
  }
}

if (!E.timer) {
  E.timer = setInterval(tick, 250);
  document.addEventListener('pointerdown', () => {
    if (E.ctx && E.ctx.state === 'suspended') { E.ctx.resume(); }
  });
}
const name = localStorage.getItem('eegmon.who');
if (who && name && !who.value) { who.value = name; }
"""

_MUTE_CLICK = """
const E = window.eegmon || {};
if (E.muted) {
  localStorage.removeItem('eegmon.mutedUntil');
} else {
  localStorage.setItem('eegmon.mutedUntil', String(Date.now() + __MUTE_MS__));
  localStorage.setItem('eegmon.mutedKeys', JSON.stringify(E.keys || []));
}
if (E.ctx && E.ctx.state === 'suspended') { E.ctx.resume(); }
"""

_SOFTWARE_GL_PROBE = """
(() => {
const known = /(?:^|; )eegmon_render=(canvas|webgl)/.exec(document.cookie);
let render = known ? known[1] : null;
if (!render) {
  let software = true;
  try {
    const c = document.createElement('canvas');
    const gl = c.getContext('webgl2') || c.getContext('webgl');
    if (gl) {
      const ext = gl.getExtension('WEBGL_debug_renderer_info');
      const name = String(gl.getParameter(ext ? ext.UNMASKED_RENDERER_WEBGL : gl.RENDERER));
      software = /swiftshader|llvmpipe|softpipe|software|basic render/i.test(name);
    }
  } catch (err) {}
  render = software ? 'canvas' : 'webgl';
  document.cookie = 'eegmon_render=' + render + '; path=/; SameSite=Strict; max-age=31536000';
}
const url = new URL(window.location.href);
if (__RELOAD__ && !url.searchParams.has('render') && render !== __SERVED__) {
  window.location.replace(window.location.href);  // served before the cookie was known
}
})();
"""

#: The cookie the probe sets, read by the server for pages without ``render=``.
RENDER_COOKIE = "eegmon_render"

_REMEMBER_WHO = "localStorage.setItem('eegmon.who', cb_obj.value.slice(0, 100));"


def install(
    doc: Document,
    alarm: Div,
    mute: Button,
    who: TextInput | None = None,
    served_render: str | None = None,
) -> None:
    """Start the page's watchdog and alarm tone when the document is ready in the browser.

    Every page probes WebGL (see the module's docs); a page drawn with
    `served_render` reloads itself when the probe disagrees.
    """
    probe = _SOFTWARE_GL_PROBE.replace("__RELOAD__", "true" if served_render else "false")
    probe = probe.replace("__SERVED__", repr(served_render or ""))
    # In the page's head, before BokehJS draws anything.
    doc.template = get_env().from_string(
        "{% extends base %}\n{% block preamble %}<script>" + probe + "</script>{% endblock %}"
    )

    def fill(code: str) -> str:
        return code.replace("__LOST_MS__", str(CLIENT_LOST_MS)).replace(
            "__MUTE_MS__", str(MUTE_S * 1000)
        )

    doc.js_on_event(
        "document_ready",
        CustomJS(args={"alarm": alarm, "mute": mute, "who": who}, code=fill(_WATCHDOG)),
    )
    mute.js_on_click(CustomJS(code=fill(_MUTE_CLICK)))
    if who is not None:
        who.js_on_change("value", CustomJS(code=_REMEMBER_WHO))
