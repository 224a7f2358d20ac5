import json
import re
from html import escape
from urllib.parse import quote

from gen1_batch.report.html import index_page, index_row, shot_page
from tests.helpers import browser_dom


def report(shot_id, status="succeeded", **extra):
    return {"shot_id": shot_id, "status": status, "params": {"prompt": "a <b>bold</b> plan"},
            "model": {"id": "tiny", "random_weights": True, "random_parts": ["all"], "weights": "random"},
            "metrics": {"frame_consistency": 0.95, "structure_error": 0.1}, "seconds": {"total": 1.5},
            "input": {"frames": 12, "fps": "24"}, "artifacts": {"thumbnail": "thumb.jpg"}, **extra}


def test_a_shot_page_escapes_what_users_wrote_and_warns_about_random_weights():
    page = shot_page(report("a", params={"prompt": "<script>alert(1)</script>"}), {"contact": "contact.jpg"})
    assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "random" in page and 'src="contact.jpg"' in page


def test_index_data_cannot_break_out_of_its_script_block():
    failed = report("b", "failed", error={"stage": "decode", "type": "MediaError", "message": "x</script><b>y"})
    page = index_page("job", [index_row(report("a")), index_row(failed)], {"shots": 2}, 0.9)
    data = page.split('<script type="application/json" id="shots">')[1].split("</script>")[0]
    assert [row["shot"] for row in json.loads(data)] == ["a", "b"]


def test_an_index_of_thousands_of_shots_renders_them_all_in_a_browser(tmp_path):
    rows = [index_row(report(f"sh{i:05d}", "failed" if i % 97 == 0 else "succeeded",
                             error={"stage": "decode", "type": "MediaError", "message": "gone"} if i % 97 == 0
                             else None)) for i in range(3000)]
    (tmp_path / "index.html").write_text(index_page("night", rows, {"shots": 3000}, 0.99))
    dom = browser_dom((tmp_path / "index.html").as_uri())
    assert "3000 of 3000 shots" in dom and dom.count('href="sh') == 3000
    assert dom.count('<tr class="failed">') == len(range(0, 3000, 97))
    assert dom.count('<tr class="outlier">') == 3000 - len(range(0, 3000, 97))  # 0.95 < 0.99: all stand out


# Text that breaks a page which does not escape it: script and comment openers, markup whose handlers
# would mark the page if they ran, quotes that end attributes or script strings, JavaScript line
# separators, a javascript: URL. Shot ids are restricted in manifests, but a report file can hold anything.
RAN = "document.documentElement.setAttribute('data-ran','ye'+'s')"
HOSTILE = [f"</script><script>{RAN}</script>", "<!--<script>", f'<img src=x onerror="{RAN}">',
           f"'\"><svg onload={RAN}>", "a\u2028b\u2029c &amp; &lt; ]]>", f"javascript:{RAN}//", f"');{RAN};('"]
EVERYTHING = "".join(HOSTILE)


def hostile_report(text, status="failed"):
    return {"shot_id": text, "status": status,
            "params": {"prompt": text, "negative_prompt": text, "video": f"/show/{text}.mp4", "image_prompt": text},
            "model": {"id": text, "random_weights": True, "random_parts": [text], "weights": text},
            "error": {"stage": text, "type": text, "message": f"file not found: /show/{text}/plate.exr"},
            "input": {"frames": 12, "fps": text, "path": text}, "output": {"url": text},
            "metrics": {"frame_consistency": float("nan"), text: 1.0}, "seconds": {"total": 2.0, text: 1.0},
            "artifacts": {"thumbnail": text}}


def test_an_index_of_hostile_text_shows_every_row_and_runs_no_script_from_data(tmp_path):
    texts = [*HOSTILE, EVERYTHING]
    reports = [hostile_report(t, "failed" if i % 2 else "succeeded") for i, t in enumerate(texts)]
    (tmp_path / "index.html").write_text(index_page(EVERYTHING, [index_row(r) for r in reports],
                                                    {"shots": len(texts)}, 0.9))
    dom = browser_dom((tmp_path / "index.html").as_uri())
    assert 'data-ran="yes"' not in dom
    assert f"{len(texts)} of {len(texts)} shots" in dom and len(re.findall(r'<tr class="\w*"><td>', dom)) == len(texts)
    for report in reports:
        assert escape(report["error"]["message"], quote=False) in dom
    assert all(":" not in link for link in re.findall(r'(?:href|src)="([^"]*)"', dom))  # all relative


def test_a_shot_page_of_hostile_text_shows_it_as_text_and_runs_no_script_from_data(tmp_path):
    breakout = HOSTILE[-1]  # alone, as one whole script string would otherwise not even parse
    artifacts = {"video": EVERYTHING, "reference": breakout, "contact": EVERYTHING}
    (tmp_path / "report.html").write_text(shot_page(hostile_report(EVERYTHING), artifacts))
    dom = browser_dom((tmp_path / "report.html").as_uri())
    assert 'data-ran="yes"' not in dom
    assert f"prompt: <b>{escape(EVERYTHING, quote=False)}</b>" in dom
    for name in (breakout, EVERYTHING):  # the pictures' own handler ran, and named them
        assert f">missing: {quote(name, safe='')}" in dom


NOTE = "damaged source frames 3-4: replaced with the nearest good frame"


def test_a_shots_notes_stand_out_on_its_page():
    page = shot_page(report("a", notes=[NOTE, "variable <frame> rate"]), {})
    assert f"<p class='warn'>{NOTE}</p>" in page and "variable &lt;frame&gt; rate" in page


def test_a_shot_with_replaced_frames_stands_out_in_the_index_in_a_browser(tmp_path):
    damaged = report("b", input={"frames": 12, "fps": "24", "damaged_frames": [3, 4]}, notes=[NOTE])
    (tmp_path / "index.html").write_text(index_page("job", [index_row(report("a")), index_row(damaged)],
                                                    {"shots": 2}, 0.9))
    dom = browser_dom((tmp_path / "index.html").as_uri())
    assert dom.count('<tr class="damaged">') == 1 and dom.count('<tr class="">') == 1
    assert NOTE in dom
