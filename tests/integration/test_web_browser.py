"""The pages of `infrakt-backup web` in a real browser (Debian's chromium driven by Playwright)
against the real bench: save the S3 settings, Test Connection (success, then the error of a
wrong secret), delete them; see a database's status; set its schedule (root's crontab has it);
create a backup and see the cloud mark; remove the server's copy and see "S3 only"; restore
from the page and find the data back in PostgreSQL; remove the schedule. Screenshots of both
pages, wide and narrow, and of the databases list go to the test's artifacts directory."""

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.integration.scratch import unique
from tests.integration.web_server import TOKEN, web_server
from tests.integration.wrapper_cli import (
    SCRIPT_DIR,
    crontab_entries,
    registered_scratch_postgres,
    remove_local_copy,
    wrapper_with_bench_server,
)

# root's crontab, /etc/infrakt and the status files are this machine's: one xdist worker runs these
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.xdist_group("server_global")]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WIDE = {"width": 1280, "height": 800}
NARROW = {"width": 390, "height": 844}
WRONG_SECRET = "wrong-secret-wrong-secret-wrong-secret-2222"  # noqa: S105
PING_URL = f"http://127.0.0.1:9/ping/{unique('ping-token')}"  # never pinged: the schedule is @yearly
JOB_TIMEOUT_MS = 300_000  # a bound for a job seen through the page, not a timing


@pytest.fixture(scope="module")
def home(testbed, tmp_path_factory):
    """A wrapper home with the bench server registered and provisioned, and no S3 settings."""
    return wrapper_with_bench_server(testbed, tmp_path_factory.mktemp("home") / "infrakt")


@pytest.fixture(scope="module")
def artifacts(tmp_path_factory):
    return tmp_path_factory.mktemp("web-browser-artifacts")


@pytest.fixture
def page(home, artifacts, tmp_path):
    """A fresh browser page (a new profile) on a running web server of `home`."""
    with web_server(home, artifacts / "web.log") as server, sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True, viewport=WIDE)
        try:
            browser_page = context.new_page()
            browser_page.server = server
            yield browser_page
        finally:
            context.close()


def fill_s3_form(page, env, *, prefix, secret):
    page.select_option("#provider", "custom")
    page.fill("#endpoint_url", env["S3_ENDPOINT_URL"])
    page.fill("#bucket", env["S3_BUCKET"])
    page.fill("#region", env["S3_REGION"])
    page.fill("#access_key", env["S3_ACCESS_KEY"])
    page.fill("#secret_key", secret)
    page.fill("#prefix", prefix)


def toast(page, kind, text):
    """Wait for a toast of kind (success, error) holding text; return its message and dismiss it
    from the keyboard (a later toast with the same words is then a new one)."""
    found = page.locator(f".toast.{kind}", has_text=text)
    expect(found).to_have_count(1, timeout=JOB_TIMEOUT_MS)
    said = found.locator(".message").inner_text()
    found.get_by_role("button", name="Dismiss").press("Enter")
    expect(found).to_have_count(0)
    return said


def accept_next_dialog(page) -> list[str]:
    """Accept the next confirmation dialog; return the list its message will be put in."""
    messages = []

    def accept(dialog):
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    return messages


def fits_the_window(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def row(page, filename):
    return page.locator(f'#backups-table tr[data-filename="{filename}"]')


def test_settings_and_backups_through_the_pages(page, home, testbed, artifacts):
    env = testbed.env
    server = page.server
    secrets = (env["S3_SECRET_KEY"], WRONG_SECRET, env["PG_PASSWORD"], PING_URL, TOKEN)
    prefix = unique("web")

    # Log in: the token leaves the address at once.
    page.goto(f"{server.base_url}/settings?token={TOKEN}")
    assert page.url == f"{server.base_url}/settings"
    expect(page.get_by_role("heading", name="S3 Backup Storage")).to_be_visible()
    expect(page.locator("#s3-state")).to_contain_text("Not configured")

    # Save with a wrong secret (Enter in a field submits the form): Test Connection says why.
    fill_s3_form(page, env, prefix=prefix, secret=WRONG_SECRET)
    page.press("#prefix", "Enter")
    assert "S3 settings saved" in toast(page, "success", "S3 settings saved")
    expect(page.locator("#secret_key")).to_have_value("")
    page.click("#s3-test")
    failed = toast(page, "error", "Connection failed")
    assert "SignatureDoesNotMatch" in failed

    # The right secret: the connection test passes.
    page.fill("#secret_key", env["S3_SECRET_KEY"])
    page.click("#s3-save")
    toast(page, "success", "S3 settings saved")
    page.click("#s3-test")
    assert "bucket " + env["S3_BUCKET"] in toast(page, "success", "Connection OK")

    # Delete, after a confirmation; the settings are gone for the API too.
    asked = accept_next_dialog(page)
    page.click("#s3-delete")
    toast(page, "success", "S3 settings deleted")
    assert "Delete the S3 settings?" in asked[0]
    assert server.request("GET", "/api/settings/s3").json() == {"configured": False}
    expect(page.locator("#s3-test")).to_be_disabled()

    # Saved again, from a page loaded afresh: the secret is never filled back.
    page.reload()
    fill_s3_form(page, env, prefix=prefix, secret=env["S3_SECRET_KEY"])
    page.click("#s3-save")
    toast(page, "success", "S3 settings saved")
    page.reload()
    expect(page.locator("#secret_key")).to_have_value("")
    expect(page.locator("#secret-note")).to_contain_text("Stored (****" + env["S3_SECRET_KEY"][-4:] + ")")
    page.screenshot(path=str(artifacts / "settings.png"))
    page.set_viewport_size(NARROW)
    assert fits_the_window(page)
    page.screenshot(path=str(artifacts / "settings-narrow.png"), full_page=True)
    page.set_viewport_size(WIDE)
    assert not [secret for secret in secrets if secret in page.content()]

    with registered_scratch_postgres(home, "sample_web") as database:
        try:
            through_the_database_page(page, database, artifacts, secrets)
        finally:
            home.run("schedule", "remove", database.name, check=False)  # gone already unless the test failed

    for secret in secrets[:4]:
        assert secret not in server.output()


def through_the_database_page(page, database, artifacts, secrets):
    """The rest of test_settings_and_backups_through_the_pages, from the databases list, with
    database registered."""
    server = page.server
    page.goto(f"{server.base_url}/")
    listed = page.locator(f'#databases-table tr[data-database="{database.name}"]')
    expect(listed.locator("td.schedule")).to_have_text("-")
    expect(listed.locator("td.status")).to_have_text("OK · no backup recorded", timeout=JOB_TIMEOUT_MS)
    page.screenshot(path=str(artifacts / "databases.png"))
    page.get_by_role("link", name=database.name).click()
    expect(page.get_by_role("heading", name=database.name)).to_be_visible()
    expect(page.locator("#backups-state")).to_have_text("No backups yet.", timeout=JOB_TIMEOUT_MS)

    # Set the schedule: shown with the ping URL masked, never filled back; installed in root's crontab;
    # the status, checked again, wants a backup now.
    expect(page.locator("#status-line")).to_have_text("OK · no backup recorded", timeout=JOB_TIMEOUT_MS)
    expect(page.locator("#schedule-summary")).to_contain_text("none")
    page.get_by_text("Set a schedule").press("Enter")
    page.fill("#cron", "@never")
    page.fill("#keep_local", "3")
    page.fill("#notify_url", PING_URL)
    page.press("#notify_url", "Enter")
    assert "'@never' is not a cron special" in toast(page, "error", "Saving the schedule failed")
    expect(page.locator("#keep_local")).to_have_value("3")  # a refused form keeps what was typed
    page.fill("#cron", "@yearly")
    page.press("#cron", "Enter")
    assert toast(page, "success", "Scheduled backups of") == (
        f"Scheduled backups of {database.name} installed on bench: @yearly, keep 3 on the server, in S3 everything.")
    summary = page.locator("#schedule-summary")
    expect(summary).to_contain_text("@yearly")
    expect(summary).to_contain_text("http://127.0.0.1:9/****")
    expect(page.locator("#notify_url")).to_have_value("")
    assert crontab_entries(database.name) == [f"@yearly {SCRIPT_DIR}/{database.name}.sh"]
    expect(page.locator("#status-line")).to_have_text(
        "Not OK · scheduled, but no backup has succeeded yet", timeout=JOB_TIMEOUT_MS)

    # Create Backup: the job's state shows while it runs, then the backup has its cloud mark.
    page.click("#create-backup")
    created = toast(page, "success", "Backup created")
    assert "uploaded to S3" in created
    first = created.split("Backup created: ")[1].split(",")[0]
    expect(page.locator("#job")).to_have_attribute("data-state", "succeeded")
    expect(row(page, first).locator(".cloud")).to_be_visible(timeout=JOB_TIMEOUT_MS)
    expect(row(page, first)).to_have_attribute("data-location", "both")
    expect(row(page, first).locator(".badge")).to_have_count(0)

    # The server's copy removed: "S3 only". A second backup shows beside it.
    remove_local_copy(database.name, first)
    page.click("#create-backup")
    second = toast(page, "success", "Backup created").split("Backup created: ")[1].split(",")[0]
    expect(row(page, second)).to_have_attribute("data-location", "both", timeout=JOB_TIMEOUT_MS)
    expect(row(page, first)).to_have_attribute("data-location", "s3")
    expect(row(page, first).locator(".badge")).to_have_text("S3 only")
    expect(row(page, first).locator(".cloud")).to_be_visible()
    page.screenshot(path=str(artifacts / "database.png"))
    page.set_viewport_size(NARROW)
    assert fits_the_window(page)
    page.screenshot(path=str(artifacts / "database-narrow.png"), full_page=True)
    page.set_viewport_size(WIDE)

    # Restore the S3-only backup from the page, after a confirmation naming the database.
    before = database.fingerprint()
    database.damage()
    asked = accept_next_dialog(page)
    row(page, first).get_by_role("button", name=f"Restore {first}").click()
    restored = toast(page, "success", "Restored")
    assert f"into database {database.name}" in asked[0]
    assert f"Restored {database.name} from {first} (downloaded from S3)." in restored
    assert database.fingerprint() == before
    expect(row(page, first)).to_have_attribute("data-location", "both", timeout=JOB_TIMEOUT_MS)

    # The status after the backups, then the schedule removed after a confirmation.
    page.click("#status-refresh")
    expect(page.locator("#status-line")).to_contain_text("OK · last success", timeout=JOB_TIMEOUT_MS)
    asked = accept_next_dialog(page)
    page.click("#schedule-remove")
    assert toast(page, "success", "removed from") == f"Scheduled backups of {database.name} removed from bench."
    assert f"Remove the scheduled backups of {database.name} from server bench?" in asked[0]
    expect(summary).to_contain_text("none")
    assert crontab_entries(database.name) == []
    assert not [secret for secret in secrets if secret in page.content()]


def test_a_declined_restore_changes_nothing(page, home, testbed):
    """Cancel in the confirmation: no job starts."""
    server = page.server
    with registered_scratch_postgres(home, "sample_web") as database:
        created = server.job(server.request("POST", f"/api/databases/{database.name}/backup"))
        filename = created["result"]["filename"]
        page.goto(f"{server.base_url}/databases/{database.name}?token={TOKEN}")
        button = row(page, filename).get_by_role("button", name=f"Restore {filename}")
        expect(button).to_be_visible(timeout=JOB_TIMEOUT_MS)
        asked = []
        page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
        button.focus()
        page.keyboard.press("Enter")  # keyboard-usable: the focused button answers Enter
        expect(page.locator("#job")).to_be_hidden()
        assert asked and database.name in asked[0]
