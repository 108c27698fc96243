// The console's only stylesheet and script, served from /console/assets (CSP: 'self', no inline code).

export const CONSOLE_CSS = `
:root{--bg:#f5f6f8;--card:#fff;--ink:#1c2330;--muted:#667085;--line:#e2e5ea;--accent:#2456d6;--ok:#157a3d;--warn:#a15c00;--bad:#b42318;--crit:#7a0f5c}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:var(--bg);color:var(--ink)}
header.top{display:flex;flex-wrap:wrap;gap:.5rem 1.25rem;align-items:center;padding:.6rem 1rem;background:#141a26;color:#fff}
header.top a{color:#fff;text-decoration:none}
.brand{font-weight:700;letter-spacing:.02em}
nav{display:flex;gap:.9rem}
nav a[aria-current]{border-bottom:2px solid #fff}
.me{margin-left:auto;display:flex;gap:.5rem;align-items:center;flex-wrap:wrap}
main{max-width:1200px;margin:0 auto;padding:1rem}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:1rem 1.1rem;margin:0 0 1rem}
.card.narrow{max-width:520px;margin:1rem auto}
h1{font-size:1.35rem;margin:.2rem 0 .8rem}h2{font-size:1.1rem;margin:0 0 .6rem}h3{font-size:.95rem;margin:.8rem 0 .3rem}
.page-title{margin-top:0}
.sub{color:var(--muted);font-size:.85rem}
.muted{color:var(--muted)}
.grid{display:grid;grid-template-columns:minmax(0,3fr) minmax(0,2fr);gap:1rem}
@media (max-width:800px){.grid{grid-template-columns:minmax(0,1fr)}}
dl{margin:0}.kv{display:grid;grid-template-columns:11rem 1fr;gap:.5rem;padding:.25rem 0;border-bottom:1px dashed var(--line)}
@media (max-width:520px){.kv{grid-template-columns:minmax(0,1fr)}}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
pre.plan{font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#0f1420;color:#e6e9ef;padding:.8rem;border-radius:6px;overflow:auto;max-height:70vh;white-space:pre-wrap;overflow-wrap:anywhere}
ol.findings{list-style:none;padding:0;margin:.4rem 0;font:13px/1.4 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
ol.findings li{background:#fff4e5;border-left:3px solid #c2410c;padding:.2rem .5rem;margin:.15rem 0;overflow-wrap:anywhere}
ol.findings .ln{color:#6b7280;margin-right:.6rem}
.confirm-env input{width:100%;box-sizing:border-box}
.card,.kv dd,code,.page-title,.reasons li{overflow-wrap:anywhere;min-width:0}
.badge,.risk,.state{display:inline-block;padding:.05rem .45rem;border-radius:999px;font-size:.78rem;font-weight:600;border:1px solid transparent}
.badge.ok{background:#e3f4ea;color:var(--ok)}.badge.warn{background:#fff1de;color:var(--warn)}.badge.dev{background:#ffe066;color:#4a3b00}
.risk-low{background:#e3f4ea;color:var(--ok)}.risk-medium{background:#fff1de;color:var(--warn)}.risk-high{background:#fde4e1;color:var(--bad)}.risk-critical{background:#7a0f5c;color:#fff}
.risk-border-high{border-left:5px solid var(--bad)}.risk-border-critical{border-left:5px solid var(--crit)}.risk-border-medium{border-left:5px solid var(--warn)}.risk-border-low{border-left:5px solid var(--ok)}
.reasons{margin:0;padding-left:1.1rem}.reason-high,.reason-critical{font-weight:600;color:var(--bad)}.reason-medium{color:var(--warn)}
.state{background:#eef1f6;color:#2d3748}.state-pending{background:#e7eefc;color:var(--accent)}.state-approved,.state-issued,.state-active{background:#e3f4ea;color:var(--ok)}.state-denied,.state-expired,.state-cancelled,.state-revoked{background:#f2f2f2;color:#555}
.steps{display:flex;flex-wrap:wrap;gap:.3rem;list-style:none;padding:0;margin:0 0 .5rem}
.steps li{padding:.2rem .55rem;border-radius:4px;font-size:.82rem;background:#eef1f6;color:var(--muted)}
.steps li.done{background:#e3f4ea;color:var(--ok)}.steps li.current{background:var(--accent);color:#fff;font-weight:600}
.explain{background:#fff7e6;border:1px solid #f3d19c;border-radius:6px;padding:.5rem .7rem;color:#5c3b00}
.flash{background:#e7eefc;border:1px solid #b9cdf7;border-radius:6px;padding:.5rem .7rem}
.decide{display:flex;flex-wrap:wrap;gap:1rem}.decide form{flex:1 1 240px;display:flex;flex-direction:column;gap:.5rem}
label{display:flex;flex-direction:column;gap:.2rem;font-size:.88rem}label.check{flex-direction:row;align-items:center;gap:.4rem}
input,select,textarea{font:inherit;padding:.4rem .5rem;border:1px solid #c9ced6;border-radius:6px;background:#fff}
button,.button{font:inherit;display:inline-block;padding:.45rem .9rem;border-radius:6px;border:1px solid #c9ced6;background:#fff;color:var(--ink);cursor:pointer;text-decoration:none;text-align:center}
button.primary,.button.primary{background:var(--accent);border-color:var(--accent);color:#fff}
button.danger{background:var(--bad);border-color:var(--bad);color:#fff}
button:disabled,input:disabled,textarea:disabled{opacity:.5;cursor:not-allowed}
button.link{background:none;border:none;color:#fff;text-decoration:underline;padding:0}
form.inline{display:inline}
form.stack{display:flex;flex-direction:column;gap:.6rem;max-width:28rem}.break-glass{border-left:5px solid var(--bad)}
.filters{display:flex;flex-wrap:wrap;gap:.6rem;align-items:flex-end;margin-bottom:.8rem}
.table-wrap{overflow-x:auto}
table.list td,table.list th{overflow-wrap:normal}table.list .sub{overflow-wrap:anywhere}table.list .risk{white-space:nowrap}.narrowed{max-width:16rem}
tr.more td{background:#fff8e6;border-top:2px solid var(--warn)}.quick a,.quick strong{margin-right:.35rem}
table.list{width:100%;border-collapse:collapse}table.list th,table.list td{text-align:left;padding:.45rem .4rem;border-bottom:1px solid var(--line);vertical-align:top}
.count{display:inline-block;min-width:1.6rem;text-align:center;background:var(--accent);color:#fff;border-radius:999px;font-size:.9rem;padding:0 .4rem}
ul.plain{list-style:none;padding:0;margin:0}ul.plain li{padding:.2rem 0}
ol.audit{padding-left:1.1rem;margin:0;font-size:.88rem}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em;overflow-wrap:anywhere}
.hint{color:var(--muted);font-size:.8rem}
.badge.prod{background:#fde4e1;color:var(--bad)}
ol.logs{list-style:none;padding:0;margin:0;max-height:60vh;overflow-y:auto;font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;background:#0f1420;color:#e6e9ef;border-radius:6px}
ol.logs li{padding:.25rem .6rem;border-bottom:1px solid #222a3a;overflow-wrap:anywhere}
ol.logs .lvl{display:inline-block;min-width:3.2rem;font-weight:700;color:#8fd19e}
ol.logs li.log-warn .lvl{color:#ffc46b}ol.logs li.log-error .lvl{color:#ff8a80}
ol.logs li.posture{background:#2b2140;border-left:4px solid #c084fc}
.posture-badge{background:#c084fc;color:#1c1030}
.step-tag{color:#9fb3ff}
.section-title{font-size:1.05rem;margin:1.2rem 0 .6rem}
.secrets .fp{font-weight:600}
`;

export const CONSOLE_JS = `'use strict';
(function () {
  var poll = document.body.getAttribute('data-poll');
  if (poll) {
    var tick = function () {
      fetch(poll, { credentials: 'same-origin', headers: { accept: 'application/json' } })
        .then(function (res) { return res.ok ? res.json() : null; })
        .then(function (data) {
          if (!data) { return; }
          var rows = document.getElementById('pending-rows');
          if (rows && rows.getAttribute('data-html') !== data.html) {
            rows.innerHTML = data.html;
            rows.setAttribute('data-html', data.html);
          }
          var count = document.querySelector('[data-testid="pending-count"]');
          if (count) { count.textContent = String(data.count); }
          document.title = data.title;
        })
        .catch(function () { /* keep the last list; try again next time */ });
    };
    setInterval(tick, 3000);
  }
  // The session dashboard: refreshes its live sections (logs, workflow, secrets, access, audit) in place.
  var live = document.body.getAttribute('data-live');
  if (live) {
    var shown = {};
    var refresh = function () {
      fetch(live, { credentials: 'same-origin', headers: { accept: 'application/json' } })
        .then(function (res) { return res.ok ? res.json() : null; })
        .then(function (data) {
          if (!data || !data.sections) { return; }
          Object.keys(data.sections).forEach(function (name) {
            var el = document.querySelector('[data-live-section="' + name + '"]');
            if (el && shown[name] !== data.sections[name]) {
              var logs = el.querySelector('ol.logs');
              var atBottom = !logs || logs.scrollTop + logs.clientHeight >= logs.scrollHeight - 8;
              el.innerHTML = data.sections[name];
              shown[name] = data.sections[name];
              var fresh = el.querySelector('ol.logs');
              if (fresh && atBottom) { fresh.scrollTop = fresh.scrollHeight; }
            }
          });
        })
        .catch(function () { /* keep what is shown; try again next time */ });
    };
    setInterval(refresh, 2000);
  }
  var countdowns = document.querySelectorAll('[data-expires]');
  if (countdowns.length > 0) {
    var update = function () {
      countdowns.forEach(function (el) {
        var left = Math.round((Date.parse(el.getAttribute('data-expires')) - Date.now()) / 1000);
        el.textContent = left > 0 ? 'in ' + (left >= 120 ? Math.floor(left / 60) + ' min ' + (left % 60) + ' s' : left + ' s') : 'expired';
      });
    };
    update();
    setInterval(update, 1000);
  }
})();
`;
