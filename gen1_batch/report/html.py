"""Static pages for supervisors: report.html per shot, index.html per job.

Plain files with inline CSS and a little inline JavaScript: they open from a local folder or an
object store, fetch nothing from elsewhere, and link to each other by relative paths. The index
carries its rows as JSON and renders them on load, so sorting and filtering thousands of shots
stays instant; thumbnails load lazily as they scroll into view.
"""

from __future__ import annotations

import json
import math
from html import escape
from typing import Any
from urllib.parse import quote

from gen1_batch.layout import INDEX_NAME
from gen1_batch.report.rules import OUTLIER_JS, prompt_score
from gen1_batch.report.schema import SUCCEEDED

SHOT_PAGE = "report.html"

STYLE = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#141418;color:#e6e6e6}
header,main{padding:12px 20px}header{background:#1e1e24;border-bottom:1px solid #333}
h1{font-size:20px;margin:0 0 4px}a{color:#8ab4ff}table{border-collapse:collapse}
td,th{padding:4px 8px;border-bottom:1px solid #2c2c33;text-align:left;vertical-align:top}
th{color:#aaa;font-weight:600}.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;padding:1px 8px;border-radius:9px;font-size:12px}
.succeeded{background:#1d4d2b}.failed{background:#6b1f24}.warn{background:#5c4a12;padding:8px 12px;border-radius:6px}
.error{background:#3a1518;border:1px solid #6b1f24;padding:8px 12px;border-radius:6px;white-space:pre-wrap}
tr.failed td{background:#2a1416}tr.outlier td{background:#2e2710}tr.damaged td{background:#3b2608}
img[data-missing]{display:none}.grid{display:flex;gap:24px;flex-wrap:wrap}.grid>section{min-width:300px}
video{width:min(480px,100%);background:#000}img.sheet{max-width:100%}
"""


# What JSON may hold that HTML or JavaScript reads otherwise: "</script>" and "<!--" end or derail the
# script element; U+2028/U+2029 end a line in older JavaScript. As \u escapes they are plain text.
_UNSAFE_IN_SCRIPT = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028",
                                   "\u2029": "\\u2029"})


def json_for_html(value: Any) -> str:
    """`value` as JSON that can sit inside a <script> element whatever its strings hold (every page
    that embeds data uses this). NaN and infinities, which JSON.parse refuses, become null."""
    return json.dumps(_finite(value)).translate(_UNSAFE_IN_SCRIPT)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def _link(*segments: str) -> str:
    """A relative URL of path segments, each percent-encoded: a name can never become a scheme such
    as javascript:, a query or another folder."""
    return "/".join(quote(str(segment), safe="") for segment in segments)


def _text(value: Any) -> str:
    return escape(str(value))


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _table(rows: dict[str, Any]) -> str:
    body = "".join(f"<tr><th>{escape(str(k))}</th><td>{escape(_fmt(v))}</td></tr>" for k, v in rows.items())
    return f"<table>{body}</table>"


def _img(name: str, alt: str, cls: str = "") -> str:
    # A picture that fails to load is hidden and named, instead of showing a broken icon. The name is
    # read from the attribute, never written into the script.
    return (f'<img class="{cls}" src="{escape(_link(name))}" alt="{escape(alt)}" '
            "onerror=\"this.dataset.missing=1;"
            "this.insertAdjacentText('afterend','missing: '+this.getAttribute('src'))\">")


def shot_page(report: dict[str, Any], artifacts: dict[str, str]) -> str:
    """report.html: what was done to one shot, with its pictures and clip."""
    model, params = report.get("model") or {}, report.get("params") or {}
    status = report["status"]
    parts = [f"<header><a href='../{INDEX_NAME}'>&larr; all shots</a><h1>{_text(report['shot_id'])} "
             f"<span class='badge {_text(status)}'>{_text(status)}</span></h1></header><main>"]
    if model.get("random_weights"):
        parts.append(f"<p class='warn'>Made with <b>{_text(model.get('weights', 'random'))}</b> weights "
                     f"({_text(', '.join(map(str, model.get('random_parts') or [])) or model.get('id', ''))}): "
                     "this shows the pipeline ran, it is not an edit to review.</p>")
    if report.get("error"):
        e = report["error"]
        parts.append(f"<p class='error'>failed at {_text(e.get('stage'))}: {_text(e.get('type'))}: "
                     f"{_text(e.get('message'))}</p>")
    parts.extend(f"<p class='warn'>{_text(note)}</p>" for note in report.get("notes") or [])
    media = "<div class='grid'>"
    if "video" in artifacts:
        media += (f"<section><h2>output</h2><video src='{escape(_link(artifacts['video']))}' controls loop muted "
                  f"playsinline></video></section>")
    prompt = "<section><h2>content</h2>"
    if params.get("prompt"):
        prompt += f"<p>prompt: <b>{_text(params['prompt'])}</b></p>"
    if params.get("negative_prompt"):
        prompt += f"<p>negative prompt: {_text(params['negative_prompt'])}</p>"
    if "reference" in artifacts:
        prompt += f"<p>reference image:</p>{_img(artifacts['reference'], 'reference image')}"
    media += prompt + "</section></div>"
    parts.append(media)
    if "contact" in artifacts:
        parts.append(f"<h2>contact sheet</h2>{_img(artifacts['contact'], 'contact sheet', 'sheet')}")
    seconds = report.get("seconds") or {}
    sections = {
        "metrics": report.get("metrics") or {},
        "parameters": params,
        "model": {"id": model.get("id"), "about": model.get("about"), "key": model.get("key"),
                  "fingerprint": model.get("fingerprint"), "weights": model.get("weights")},
        "seconds per stage": seconds,
        "input": report.get("input") or {},
        "output": report.get("output") or {},
    }
    parts.append("<div class='grid'>" + "".join(
        f"<section><h2>{escape(name)}</h2>{_table(values)}</section>" for name, values in sections.items()) + "</div>")
    parts.append("</main>")
    return _page(f"{report['shot_id']}: {status}", "".join(parts))


def index_row(report: dict[str, Any]) -> dict[str, Any]:
    """What the index shows of one shot (small: the index stays fast with thousands)."""
    metrics, error = report.get("metrics") or {}, report.get("error") or {}
    video = report.get("input") or {}
    shot = report["shot_id"]
    thumb = (report.get("artifacts") or {}).get("thumbnail")
    return {
        "shot": shot, "status": report["status"], "page": _link(shot, SHOT_PAGE),
        "thumb": _link(shot, thumb) if thumb else None, "frames": video.get("frames"), "fps": video.get("fps"),
        "frame_consistency": metrics.get("frame_consistency"),
        "prompt_consistency": prompt_score(metrics),
        "structure_error": metrics.get("structure_error"), "seconds": (report.get("seconds") or {}).get("total"),
        "error": f"{error.get('stage')}: {error.get('type')}: {error.get('message')}" if error else "",
        "damaged": bool(video.get("damaged_frames")), "notes": "; ".join(report.get("notes") or []),
    }


INDEX_SCRIPT = r"""
const rows = JSON.parse(document.getElementById('shots').textContent);
const columns = [['shot','shot'],['status','status'],['frames','frames',1],['fps','fps'],
  ['frame_consistency','frame consistency',1],['prompt_consistency','prompt consistency',1],
  ['structure_error','structure error',1],['seconds','seconds',1],['notes','notes'],['error','error']];
let sortKey = 'shot', ascending = true;
const $ = id => document.getElementById(id);
const esc = s => String(s).replace(/[&<>"']/g, c => ({'&':'&amp;','<':'&lt;','>':'&gt;','"':'&quot;',"'":'&#39;'})[c]);
function fmt(v){return v===null||v===undefined?'-':esc(typeof v==='number'&&!Number.isInteger(v)?v.toFixed(4):v)}
function render(){
  const text = $('filter').value.toLowerCase(), status = $('status').value, limit = parseFloat($('threshold').value);
  const outlier = r => isOutlier(r, limit);
  let shown = rows.filter(r => (!text || (r.shot+' '+r.error+' '+r.notes).toLowerCase().includes(text)) &&
    (status==='all' || (status==='outliers' ? outlier(r) : r.status===status)));
  shown.sort((a,b)=>{const x=a[sortKey],y=b[sortKey];if(x===y)return 0;if(x===null||x===undefined)return 1;
    if(y===null||y===undefined)return -1;return (x<y?-1:1)*(ascending?1:-1)});
  const body = document.createDocumentFragment();
  for (const r of shown){
    const tr = document.createElement('tr');
    tr.className = r.status==='failed' ? 'failed' : r.damaged ? 'damaged' : (outlier(r) ? 'outlier' : '');
    const img = r.thumb ? `<img loading="lazy" src="${esc(r.thumb)}" alt="" height="45">` : '';
    tr.innerHTML = `<td>${img}</td>` + columns.map(([k,,n]) => k==='shot'
      ? `<td><a href="${esc(r.page)}">${esc(r.shot)}</a></td>`
      : `<td class="${n?'num':''}">${fmt(r[k])}</td>`).join('');
    body.appendChild(tr);
  }
  $('rows').replaceChildren(body);
  $('count').textContent = `${shown.length} of ${rows.length} shots`;
}
$('head').innerHTML = '<th></th>' + columns.map(([k,label]) => `<th data-key="${k}">${label}</th>`).join('');
$('head').onclick = e => {const k=e.target.dataset.key;if(!k)return;ascending = sortKey===k ? !ascending : true;
  sortKey=k;render()};
for (const id of ['filter','status','threshold']) $(id).oninput = render;
render();
"""


def index_page(title: str, rows: list[dict[str, Any]], counts: dict[str, int], threshold: float) -> str:
    """index.html: every shot of a job, sortable and filterable; failures and outliers stand out."""
    data = json_for_html(rows)
    summary = ", ".join(f"{v} {k}" for k, v in counts.items())
    body = f"""<header><h1>{escape(title)}</h1><p>{escape(summary)}</p>
<p><input id="filter" placeholder="filter by shot, error or note"> <select id="status">
<option value="all">all</option><option value="failed">failed</option><option value="succeeded">succeeded</option>
<option value="outliers">outliers</option></select> frame consistency below
<input id="threshold" type="number" step="0.01" value="{_text(threshold)}" style="width:5em"> stands out
&middot; <span id="count"></span></p></header>
<main><table><thead><tr id="head"></tr></thead><tbody id="rows"></tbody></table></main>
<script type="application/json" id="shots">{data}</script>
<script>const isOutlier = {OUTLIER_JS};{INDEX_SCRIPT}</script>"""
    return _page(title, body)


def _page(title: str, body: str) -> str:
    return (f"<!doctype html><html lang='en'><head><meta charset='utf-8'><title>{escape(title)}</title>"
            f"<meta name='viewport' content='width=device-width'><style>{STYLE}</style></head>"
            f"<body>{body}</body></html>\n")


def counts_of(reports: list[dict[str, Any]]) -> dict[str, int]:
    succeeded = sum(r["status"] == SUCCEEDED for r in reports)
    return {"shots": len(reports), "succeeded": succeeded, "failed": len(reports) - succeeded}
