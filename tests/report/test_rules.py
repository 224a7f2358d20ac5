import re

from gen1_batch.report.html import index_page, index_row
from gen1_batch.report.rules import is_outlier, prompt_score
from tests.helpers import browser_dom

CASES = [("succeeded", 0.95), ("succeeded", 0.85), ("succeeded", 0.9), ("succeeded", None), ("failed", 0.5),
         ("succeeded", 0.0)]


def test_the_index_page_marks_exactly_the_outliers_the_terminal_does(tmp_path):
    reports = [{"shot_id": f"s{i}", "status": status, "metrics": {"frame_consistency": value}}
               for i, (status, value) in enumerate(CASES)]
    (tmp_path / "index.html").write_text(index_page("job", [index_row(r) for r in reports], {}, 0.9))
    dom = browser_dom((tmp_path / "index.html").as_uri())
    marked = set(re.findall(r'<tr class="outlier">.*?>(s\d)</a>', dom))
    expected = {r["shot_id"] for r in reports if is_outlier(r["status"], r["metrics"]["frame_consistency"], 0.9)}
    assert marked == expected == {"s1", "s5"}


def test_a_shot_with_only_a_reference_image_is_scored_by_its_reference_consistency():
    assert prompt_score({"prompt_consistency": None, "reference_consistency": 0.7}) == 0.7
    assert prompt_score({"prompt_consistency": 0.3, "reference_consistency": 0.7}) == 0.3
    assert prompt_score({}) is None
