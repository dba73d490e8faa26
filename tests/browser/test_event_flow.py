"""A whole event in the browser, against a real server process on PostgreSQL + Redis.

An organizer creates a contest (ICPC rule), enables a badge plugin, uploads a problem package
and a language; three contestants sign up, two register teams and one joins a team by its
code; they submit (one accepted, one wrong); a spectator's scoreboard updates without a
reload; after the freeze the spectator sees a pending cell while the jury sees the result; the
reveal ends on the final board. Each browser context is a separate person (own cookies).
Screenshots of the key pages go to ``test-artifacts/``.
"""

from __future__ import annotations

import asyncio
import re
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

PACKAGE = Path(__file__).resolve().parents[3] / "shared" / "reference" / "problems" / "hello"
ACCEPTED = 'print("Hello World!")\n'
WRONG = 'print("Hello, world")\n'
SLUG = "browser-cup"
TIMEOUT = 90_000  # ms: judging on a loaded 2-core machine


def _zip(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, f"{folder.name}/{path.relative_to(folder)}")
    return target


def _local(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M")


class Person:
    """One browser context (its own cookies) with a page."""

    def __init__(self, context: Any, page: Any, base: str, shots: Path, name: str) -> None:
        self.context, self.page, self.base, self.shots, self.name = context, page, base, shots, name

    async def goto(self, path: str) -> Any:
        response = await self.page.goto(self.base + path)
        assert response is not None and response.status < 400, (path, response and response.status)
        return response

    async def shot(self, name: str) -> None:
        await self.page.screenshot(path=str(self.shots / f"{name}.png"), full_page=True,
                                   animations="disabled", timeout=45_000)


async def _person(browser: Any, base: str, shots: Path, name: str, *,
                  mobile: bool = False) -> Person:
    viewport = {"width": 390, "height": 844} if mobile else {"width": 1280, "height": 900}
    context = await browser.new_context(viewport=viewport, timezone_id="Europe/Oslo",
                                        locale="en-GB")
    context.set_default_timeout(20_000)
    page = await context.new_page()
    return Person(context, page, base, shots, name)


async def _sign_up(person: Person, username: str) -> None:
    from playwright.async_api import expect

    await person.goto("/register")
    page = person.page
    await page.get_by_label("Username").fill(username)
    await page.get_by_label("Name shown to others").fill(username.title())
    await page.get_by_label("Password", exact=True).fill("contestant-pw")
    await page.get_by_label("Password again").fill("contestant-pw")
    await page.get_by_role("button", name="Create my account").click()
    await expect(page.locator(".flash")).to_contain_text("Welcome")


async def _submit(person: Person, source: str, tmp: Path) -> None:
    from playwright.async_api import expect

    await person.goto(f"/contests/{SLUG}/submit")
    page = person.page
    await page.get_by_label("Problem").select_option("A")  # option values are the labels
    await page.get_by_label("Language").select_option("python3")
    file = tmp / f"{person.name}.py"
    file.write_text(source)
    await page.get_by_label("Or upload a file").set_input_files(str(file))
    await page.get_by_role("button", name="Submit", exact=True).click()
    # The submission's page (it may reload itself when the verdict comes: no flash to wait for).
    await expect(page).to_have_url(re.compile(rf"/contests/{SLUG}/submissions/\d+$"))
    await expect(page.locator("h1")).to_contain_text("Submission")


def _row(page: Any, team: str) -> Any:
    return page.locator("#board-rows tr", has_text=team)


async def test_a_whole_event_in_the_browser(browser: Any, event_server: Any, artifacts: Path,
                                           tmp_path: Path) -> None:
    from playwright.async_api import expect

    server, _env = event_server
    base = server.url
    org = await _person(browser, base, artifacts, "org")

    # -- the organizer sets up the contest -----------------------------------------------
    await org.goto("/login?next=/admin/")
    await org.page.get_by_label("Username").fill("org")
    await org.page.get_by_label("Password").fill("organizer-pw")
    await org.page.get_by_role("button", name="Log in").click()
    await expect(org.page).to_have_url(re.compile(r"/admin/$"))
    await org.shot("01-admin-dashboard-empty")

    await org.goto("/admin/contests/new")
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    form = org.page
    await form.get_by_label("Slug").fill(SLUG)
    await form.get_by_label("Title").fill("Browser Cup")
    await form.get_by_label("Start").fill(_local(now - timedelta(minutes=10)))
    await form.get_by_label("End", exact=True).fill(_local(now + timedelta(hours=3)))
    await form.get_by_label("Scoring rule").select_option("icpc")
    await form.get_by_label("Registration", exact=True).select_option("open")
    await form.get_by_label("Visibility").select_option("public")
    await org.shot("02-admin-new-contest")
    await form.get_by_role("button", name="Create contest").click()
    await expect(form).to_have_url(re.compile(rf"/admin/contests/{SLUG}$"))

    await org.goto(f"/admin/contests/{SLUG}/plugins")
    await org.page.get_by_role("button", name="Enable first_accepted").click()
    await expect(org.page.get_by_role("button", name="Disable first_accepted")).to_be_visible()
    await org.shot("03-admin-plugins")

    await org.goto(f"/admin/contests/{SLUG}/problems")
    package = _zip(PACKAGE, tmp_path / "hello.zip")
    await org.page.get_by_label("Problem package (.zip)").set_input_files(str(package))
    await org.page.get_by_label("Label").fill("A")
    await org.page.get_by_role("button", name="Upload package").click()
    await expect(org.page.locator("body")).to_contain_text("Hello World!", timeout=60_000)
    await org.shot("04-admin-problems")

    await org.goto(f"/admin/contests/{SLUG}/languages")
    await org.page.get_by_label(re.compile("^Python")).first.check()
    await org.page.get_by_role("button", name="Save languages").click()
    await expect(org.page.get_by_label(re.compile("^Python")).first).to_be_checked()

    # -- a spectator watches (no login) ----------------------------------------------------
    fan = await _person(browser, base, artifacts, "fan")
    await fan.goto(f"/contests/{SLUG}/scoreboard")

    # -- contestants sign up, register and join teams --------------------------------------
    ada = await _person(browser, base, artifacts, "ada")
    bob = await _person(browser, base, artifacts, "bob", mobile=True)
    cy = await _person(browser, base, artifacts, "cy")
    for person in (ada, bob, cy):
        await _sign_up(person, person.name)
    await ada.goto(f"/contests/{SLUG}/team")
    await ada.page.get_by_label("Team name").fill("Alpha")
    await ada.page.get_by_role("button", name="Register the team").click()
    code = (await ada.page.locator("#join-code").text_content() or "").strip()
    assert re.fullmatch(r"[A-Z0-9]{4}-[A-Z0-9]{4}", code), code
    await ada.shot("05-contestant-team")
    await bob.goto(f"/contests/{SLUG}/team")
    await bob.page.get_by_label("Team name").fill("Beta")
    await bob.page.get_by_role("button", name="Register the team").click()
    await expect(bob.page.locator("#join-code")).to_be_visible()
    await cy.goto(f"/contests/{SLUG}/team")
    await cy.page.get_by_label("Join code").fill(code.lower())
    await cy.page.get_by_role("button", name="Join").click()
    await expect(cy.page.locator(".flash")).to_contain_text("Alpha")

    await expect(_row(fan.page, "Alpha")).to_be_visible(timeout=TIMEOUT)  # no reload
    await expect(_row(fan.page, "Beta")).to_be_visible(timeout=TIMEOUT)

    # -- statements and submissions --------------------------------------------------------
    await ada.goto(f"/contests/{SLUG}/problems")
    await ada.shot("06-contestant-problems")
    await ada.page.get_by_role("link", name=re.compile("Hello World")).first.click()
    await expect(ada.page.locator("body")).to_contain_text("Hello World")
    await ada.shot("07-contestant-statement")

    await _submit(ada, ACCEPTED, tmp_path)
    await _submit(bob, WRONG, tmp_path)
    # The pending page reloads itself when the verdict comes; a screenshot taken across that
    # reload can hang, so wait for the judged page (it is no longer live) first.
    await expect(bob.page.locator("[data-live-submission]")).to_have_count(0, timeout=TIMEOUT)
    await bob.page.wait_for_load_state("load")
    await bob.shot("08-contestant-submission-mobile")
    await ada.goto(f"/contests/{SLUG}/submissions")
    await expect(ada.page.locator(".verdict").first).to_have_attribute(
        "data-verdict", "AC", timeout=TIMEOUT)  # arrives live on the page
    await ada.shot("09-contestant-submissions")
    await bob.goto(f"/contests/{SLUG}/submissions")
    await expect(bob.page.locator(".verdict").first).to_have_attribute(
        "data-verdict", "WA", timeout=TIMEOUT)

    alpha_a = _row(fan.page, "Alpha").locator("td.cell").first
    beta_a = _row(fan.page, "Beta").locator("td.cell").first
    await expect(alpha_a).to_have_class(re.compile(r"\bsolved\b"), timeout=TIMEOUT)
    await expect(beta_a).to_have_class(re.compile(r"\bfailed\b"), timeout=TIMEOUT)
    await expect(_row(fan.page, "Alpha").locator(".rank")).to_have_text("1")
    await fan.shot("10-spectator-scoreboard-live")

    # -- the freeze: the spectator sees pending, the jury sees the result --------------------
    await org.goto(f"/admin/contests/{SLUG}/scoreboard")
    await org.page.get_by_role("button", name="Freeze now").click()
    await expect(org.page.get_by_role("button", name="Unfreeze")).to_be_visible()
    await _submit(bob, ACCEPTED, tmp_path)
    await bob.goto(f"/contests/{SLUG}/submissions")
    await expect(bob.page.locator(".verdict").first).to_have_attribute(
        "data-verdict", "AC", timeout=TIMEOUT)  # the team sees its own verdict
    await expect(beta_a).to_have_class(re.compile(r"\bpending\b"), timeout=TIMEOUT)
    await expect(beta_a).not_to_have_class(re.compile(r"\bsolved\b"))
    await fan.shot("11-spectator-frozen")
    await org.goto(f"/admin/contests/{SLUG}/scoreboard")
    await expect(_row(org.page, "Beta").locator("td.cell").first).to_have_class(
        re.compile(r"\bsolved\b"), timeout=TIMEOUT)
    await org.shot("12-jury-scoreboard-frozen")

    # -- the contest ends; the reveal ends on the final board -------------------------------
    org.page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
    await org.page.get_by_role("button", name="End now").click()
    await expect(org.page.locator(".flash")).to_contain_text("has ended")
    await fan.goto(f"/contests/{SLUG}/reveal")
    await expect(_row(fan.page, "Beta").locator("td.cell").first).to_have_class(
        re.compile(r"\bpending\b"))
    await org.page.get_by_role("button", name="Start reveal").click()
    await expect(org.page.locator(".flash")).to_contain_text("reveal has started")
    for _ in range(10):  # one pending cell here; the last step unfreezes the board
        step = org.page.get_by_role("button", name="Reveal next")
        if not await step.is_enabled():
            break
        await step.click()
        await expect(org.page.locator(".flash")).to_contain_text(
            re.compile(r"Revealed \d+ of \d+|Everything is revealed"))
    await expect(org.page.locator(".flash")).to_contain_text("Everything is revealed")
    reveal_beta = _row(fan.page, "Beta").locator("td.cell").first
    await expect(reveal_beta).to_have_class(re.compile(r"\bsolved\b"), timeout=TIMEOUT)
    await fan.shot("13-spectator-reveal-final")
    await fan.goto(f"/contests/{SLUG}/scoreboard")
    await expect(_row(fan.page, "Beta").locator("td.cell").first).to_have_class(
        re.compile(r"\bsolved\b"))
    # ICPC penalty: Beta's rejected try costs 20 minutes more than Alpha's clean solve.
    alpha_time = int(await _row(fan.page, "Alpha").locator("td.time").inner_text())
    beta_time = int(await _row(fan.page, "Beta").locator("td.time").inner_text())
    assert beta_time - alpha_time in range(19, 23), (alpha_time, beta_time)
    await expect(fan.page.locator("thead")).to_contain_text("Penalty")
    await fan.shot("14-spectator-scoreboard-final")

    await org.goto("/admin/")
    await org.shot("15-admin-dashboard")
    for person in (org, fan, ada, bob, cy):
        await person.context.close()
