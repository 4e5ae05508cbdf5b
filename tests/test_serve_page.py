"""The `videofocus serve` web page in a real headless Chromium (Debian's chromium + chromium-driver,
driven by selenium): pick a video or upload an image, ask, and see every round drawn."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from serve_helpers import IMAGE_SIZE, VIDEO_SECONDS, clue_backend, make_media_root

from videofocus.serve import ServeSettings, create_app, running_server

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.support import expected_conditions  # noqa: E402
from selenium.webdriver.support.ui import Select, WebDriverWait  # noqa: E402

_BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
_DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (_BROWSER and _DRIVER),
                                reason="no chromium + chromedriver here (.ci/run installs them)")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    root = make_media_root(tmp_path_factory.mktemp("media"))
    app = create_app(clue_backend(), ServeSettings(model_name="scripted", media_root=root))
    options = webdriver.ChromeOptions()
    options.binary_location = _BROWSER
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1100,1600"):
        options.add_argument(flag)
    with running_server(app) as url:
        browser = webdriver.Chrome(service=webdriver.ChromeService(executable_path=_DRIVER), options=options)
        try:
            yield browser, url, root
        finally:
            browser.quit()


def _ask(browser, question: str) -> None:
    browser.find_element(By.ID, "question").clear()
    browser.find_element(By.ID, "question").send_keys(question)
    browser.find_element(By.ID, "ask").click()
    WebDriverWait(browser, 60).until(expected_conditions.text_to_be_present_in_element((By.ID, "status"), "done"))


def _percent(element, name: str) -> float:
    return float(element.value_of_css_property(name).removesuffix("px")) / \
        float(element.find_element(By.XPATH, "..").value_of_css_property("width").removesuffix("px")) * 100


def test_video_rounds_on_a_timeline(page, tmp_path):
    browser, url, _root = page
    browser.get(url + "/")
    WebDriverWait(browser, 30).until(lambda b: len(Select(b.find_element(By.ID, "media-pick")).options) == 3)
    assert browser.find_element(By.ID, "model").text == "scripted"
    Select(browser.find_element(By.ID, "media-pick")).select_by_value("clips/ramp.mp4")
    _ask(browser, "When does the door open?")
    rounds = browser.find_elements(By.CSS_SELECTOR, "article.round")
    assert [card.get_attribute("data-round") for card in rounds] == ["1", "2", "3"]
    assert browser.find_element(By.ID, "final-answer").text == "the door opens"
    for card in rounds:  # the clue 2-4 s of a 10 s video: 20 % from the left, 20 % wide
        clue = card.find_element(By.CSS_SELECTOR, ".timeline .clue")
        assert _percent(clue, "left") == pytest.approx(100 * 2.0 / VIDEO_SECONDS, abs=0.5)
        assert _percent(clue, "width") == pytest.approx(100 * 2.0 / VIDEO_SECONDS, abs=0.5)
        ticks = card.find_elements(By.CSS_SELECTOR, ".timeline .tick")
        assert len(ticks) == 20  # 2 fps over 10 s
        frames = card.find_elements(By.CSS_SELECTOR, ".frames img")
        assert 1 <= len(frames) <= 16 and all(image.get_attribute("naturalWidth") != "0" for image in frames)
    assert not rounds[0].find_elements(By.CSS_SELECTOR, ".timeline .focus")  # round 1 is uniform
    assert rounds[1].find_elements(By.CSS_SELECTOR, ".timeline .focus")  # round 2 looks inside the clue
    think = rounds[0].find_element(By.CSS_SELECTOR, "details.think")
    assert think.get_attribute("open") is None and not think.find_element(By.TAG_NAME, "pre").is_displayed()
    think.find_element(By.TAG_NAME, "summary").click()
    assert think.find_element(By.TAG_NAME, "pre").text == "I see a door."
    browser.save_screenshot(str(_screenshot_path(tmp_path, "video")))


def test_uploaded_image_with_box_overlays(page, tmp_path):
    browser, url, root = page
    browser.get(url + "/")
    browser.find_element(By.ID, "media-file").send_keys(str(root / "photo.png"))
    browser.find_element(By.ID, "rounds").clear()
    browser.find_element(By.ID, "rounds").send_keys("2")
    _ask(browser, "the red car")
    first, second = browser.find_elements(By.CSS_SELECTOR, "article.round")
    box = first.find_element(By.CSS_SELECTOR, ".picture .box")  # clue [30, 40, 150, 120] on 300x200
    assert _percent(box, "left") == pytest.approx(100 * 30 / IMAGE_SIZE[0], abs=0.5)
    assert _percent(box, "width") == pytest.approx(100 * 120 / IMAGE_SIZE[0], abs=0.5)
    assert not first.find_elements(By.CSS_SELECTOR, ".picture .crop")
    assert len(second.find_elements(By.CSS_SELECTOR, ".picture .crop")) == 1  # round 2 saw a crop of the box
    assert second.find_element(By.CSS_SELECTOR, ".picture img").get_attribute("naturalWidth") != "0"
    browser.save_screenshot(str(_screenshot_path(tmp_path, "image")))


def test_an_error_is_shown_not_thrown(page):
    browser, url, _root = page
    browser.get(url + "/")
    browser.find_element(By.ID, "question").send_keys("no media picked")
    browser.find_element(By.ID, "ask").click()
    WebDriverWait(browser, 30).until(expected_conditions.text_to_be_present_in_element(
        (By.ID, "status"), "pick or upload a video or image"))
    assert browser.find_element(By.ID, "status").get_attribute("class") == "error"


def _screenshot_path(tmp_path: Path, name: str) -> Path:
    """Where to keep the page's screenshot (VIDEOFOCUS_SCREENSHOTS=folder keeps them for a look)."""
    import os

    folder = Path(os.environ.get("VIDEOFOCUS_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"serve_page_{name}.png"
