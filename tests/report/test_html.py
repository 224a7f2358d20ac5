import json

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
