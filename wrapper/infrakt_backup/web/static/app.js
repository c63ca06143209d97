// infrakt backup's pages: calls to /api with the page's CSRF token, a toast per result, live
// job state while a long operation runs. No build step: plain browser JavaScript.
"use strict";

const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const POLL_MS = 700;

// Send one call; return {status, data}, or throw the API's one-line error (its HTTP status as
// the error's `status`).
async function call(method, path, body) {
  const options = { method, headers: { "X-CSRF-Token": CSRF }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) {
    throw Object.assign(new Error(data.error || `${response.status} ${response.statusText}`),
      { status: response.status });
  }
  return { status: response.status, data };
}

async function api(method, path, body) {
  return (await call(method, path, body)).data;
}

function toast(message, kind) {
  const item = document.createElement("div");
  item.className = `toast ${kind}`;
  item.setAttribute("role", kind === "error" ? "alert" : "status");
  item.append(element("span", { class: "message" }, message));
  const close = document.createElement("button");
  close.type = "button";
  close.className = "close";
  close.setAttribute("aria-label", "Dismiss");
  close.textContent = "×";
  close.addEventListener("click", () => item.remove());
  item.append(close);
  document.getElementById("toasts").append(item);
  if (kind !== "error") setTimeout(() => item.remove(), 8000);
}

// Send a call that may run as a job and return its result: a 202 {"job": id} is followed until
// the job ends (onProgress gets each state of it), any other answer is the result itself.
async function operation(method, path, body, onProgress = () => {}) {
  const { status, data } = await call(method, path, body);
  if (status !== 202) return data;
  for (;;) {
    const state = await api("GET", `/api/jobs/${data.job}`);
    onProgress(state);
    if (state.state !== "running") {
      if (state.state === "failed") throw new Error(state.error);
      return state.result;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

// Return a progress callback for operation() that shows the job's state in `box`.
function showJob(box, what) {
  return (job) => {
    const last = job.progress.length ? job.progress[job.progress.length - 1].replace(/^… /, "") : "starting";
    box.textContent = job.state === "running" ? `${what}: ${last}…` : `${what}: ${job.state}.`;
    box.dataset.state = job.state;
  };
}

// Run an operation that may be a job, its state shown in `box`: setRunning(true) while it runs,
// then setRunning(false), `after()` (a reload), and a toast of succeeded(result) or the error.
async function operate({ box, what, method, path, body, setRunning, succeeded, after }) {
  setRunning(true);
  box.hidden = false;
  box.dataset.state = "running";
  box.textContent = `${what}: starting…`;
  let said;
  try {
    said = [succeeded(await operation(method, path, body, showJob(box, what))), "success"];
  } catch (error) {
    box.textContent = `${what}: failed.`;
    box.dataset.state = "failed";
    said = [`${what} failed: ${error.message}`, "error"];
  }
  setRunning(false);
  await after();
  toast(...said);
}

function busy(button, text) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = text;
  return () => { button.disabled = false; button.textContent = label; };
}

// ---------------------------------------------------------------- settings

// Say which servers' scheduled backups now use `what`, and which could not be updated.
function reportSchedules(schedules, what) {
  if (schedules.servers_updated.length) {
    toast(`Scheduled backups on ${schedules.servers_updated.join(", ")} now use ${what}.`, "success");
  }
  if (schedules.servers_failed.length) {
    const failed = schedules.servers_failed.map((item) => `${item.server}: ${item.error}`).join("; ");
    toast(`The settings are stored, but these servers could not be updated: ${failed}`, "error");
  }
}

function setUpSettings(form) {
  const field = (name) => form.elements[name];
  const optional = (name) => field(name).value.trim() || null;
  const testButton = document.getElementById("s3-test");
  const deleteButton = document.getElementById("s3-delete");

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const done = busy(document.getElementById("s3-save"), "Saving…");
    const body = {
      provider: field("provider").value, endpoint_url: optional("endpoint_url"), bucket: field("bucket").value.trim(),
      region: optional("region"), access_key: field("access_key").value.trim(), prefix: field("prefix").value.trim(),
    };
    if (field("secret_key").value) body.secret_key = field("secret_key").value;
    try {
      const saved = await operation("PUT", "/api/settings/s3", body);
      field("secret_key").value = "";
      field("secret_key").placeholder = "unchanged";
      field("region").value = saved.region;
      field("endpoint_url").value = saved.endpoint_url;
      document.getElementById("secret-note").textContent = `Stored (${saved.secret_key}); leave empty to keep it.`;
      document.getElementById("s3-state").textContent = `Configured; last saved ${saved.updated_at}.`;
      testButton.disabled = deleteButton.disabled = false;
      toast(`S3 settings saved: bucket ${saved.bucket} at ${saved.endpoint_url}.`, "success");
      reportSchedules(saved.schedules, "the new S3 settings");
    } catch (error) {
      toast(`Not saved: ${error.message}`, "error");
    } finally {
      done();
    }
  });

  testButton.addEventListener("click", async () => {
    const done = busy(testButton, "Testing…");
    const server = document.getElementById("s3-test-server");
    try {
      const result = await operation("POST", "/api/settings/s3/test", server ? { server: server.value } : {});
      toast(`Connection OK (list, write, read, delete): bucket ${result.bucket} from server ${result.server}.`,
        "success");
    } catch (error) {
      toast(`Connection failed: ${error.message}`, "error");
    } finally {
      done();
    }
  });

  deleteButton.addEventListener("click", async () => {
    if (!confirm("Delete the S3 settings? Backups already in the bucket stay there; new ones stay on the servers.")) {
      return;
    }
    try {
      const deleted = await operation("DELETE", "/api/settings/s3");
      for (const name of ["endpoint_url", "bucket", "region", "access_key", "secret_key", "prefix"]) {
        field(name).value = "";
      }
      field("secret_key").placeholder = "";
      document.getElementById("secret-note").textContent = "Required.";
      document.getElementById("s3-state").textContent = "Not configured: backups stay on the servers.";
      testButton.disabled = deleteButton.disabled = true;
      toast("S3 settings deleted.", "success");
      reportSchedules(deleted.schedules, "no S3");
    } catch (error) {
      toast(`Not deleted: ${error.message}`, "error");
    }
  });
}

// ---------------------------------------------------------------- a database's backups

const SIZE_UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

function humanSize(size) {
  if (size === null || size === undefined) return "-";
  let value = size, unit = 0;
  while (value >= 1024 && unit < SIZE_UNITS.length - 1) { value /= 1024; unit += 1; }
  return unit === 0 ? `${size} B` : `${value.toFixed(1)} ${SIZE_UNITS[unit]}`;
}

// An ISO-8601 UTC time as "2026-11-24 21:05:09".
function utcText(moment) {
  return moment.replace("T", " ").replace("Z", "");
}

function element(tag, attributes, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) node.setAttribute(key, value);
  node.append(...children);
  return node;
}

function locationCell(backup) {
  const cell = element("span", { class: "location" });
  if (backup.location !== "s3") cell.append(element("span", { class: "local" }, "server"));
  if (backup.location !== "local") {
    cell.append(element("span", { class: "cloud", title: "A copy is in S3", "aria-label": "in S3", role: "img" }, "☁"));
  }
  if (backup.location === "s3") cell.append(element("span", { class: "badge" }, "S3 only"));
  return cell;
}

// The Backups tab's columns: a heading and what a backup shows under it. A later column
// (verification) is one more entry.
const BACKUP_COLUMNS = [
  { heading: "Filename", cell: (backup) => element("code", {}, backup.filename) },
  { heading: "Size", cell: (backup) => humanSize(backup.size) },
  { heading: "Created (UTC)", cell: (backup) => utcText(backup.created) },
  { heading: "Location", cell: locationCell },
];

function setUpBackups(section) {
  const database = section.dataset.database;
  const table = document.getElementById("backups-table");
  const state = document.getElementById("backups-state");
  const jobBox = document.getElementById("job");
  const createButton = document.getElementById("create-backup");
  const path = `/api/databases/${encodeURIComponent(database)}`;
  let running = false;

  table.querySelector("thead tr").replaceChildren(
    ...BACKUP_COLUMNS.map((column) => element("th", { scope: "col" }, column.heading)),
    element("th", { scope: "col" }, element("span", { class: "visually-hidden" }, "Actions")),
  );

  async function load() {
    try {
      const listed = await api("GET", `${path}/backups`);
      const rows = listed.backups.map((backup) => {
        const restore = element("button", { type: "button", class: "restore" }, "Restore");
        restore.setAttribute("aria-label", `Restore ${backup.filename}`);
        restore.disabled = running;
        restore.addEventListener("click", () => restoreFrom(backup.filename));
        return element("tr", { "data-filename": backup.filename, "data-location": backup.location },
          ...BACKUP_COLUMNS.map((column) => element("td", { "data-label": column.heading }, column.cell(backup))),
          element("td", {}, restore));
      });
      table.querySelector("tbody").replaceChildren(...rows);
      table.hidden = rows.length === 0;
      state.textContent = rows.length ? "" : "No backups yet.";
      if (listed.s3_error) {
        state.textContent = `S3 could not be listed, only the server's backups are shown: ${listed.s3_error}`;
      }
    } catch (error) {
      state.textContent = `The backups could not be listed: ${error.message}`;
    }
  }

  function setRunning(value) {
    running = value;
    createButton.disabled = value;
    for (const button of table.querySelectorAll("button.restore")) button.disabled = value;
  }

  function operateOn(what, action, body, succeeded) {
    return operate({ box: jobBox, what, method: "POST", path: `${path}/${action}`, body, succeeded, setRunning,
      after: load });
  }

  function restoreFrom(filename) {
    const question = `Restore ${filename} into database ${database} (${section.dataset.engine} on server ` +
      `${section.dataset.server})? Its current data will be replaced.`;
    if (!confirm(question)) return;
    operateOn("Restore", "restore", { filename }, (result) =>
      `Restored ${database} from ${filename}${result.downloaded ? " (downloaded from S3)" : ""}.`);
  }

  createButton.addEventListener("click", () =>
    operateOn("Backup", "backup", {}, (result) =>
      `Backup created: ${result.filename}${result.location === "local+s3" ? ", uploaded to S3" : ""}.`));
  load();
}

// ---------------------------------------------------------------- status and schedules

// A number of seconds as `status` prints an age: "26h03m".
function ageText(seconds) {
  const minutes = Math.floor(Math.max(seconds, 0) / 60);
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

// Show a database's status row (from `status`) in `node`: ok or not, the last error, the last
// success and its age; data-ok says which.
function showStatus(node, row) {
  const success = row.last_success
    ? `last success ${utcText(row.last_success)} UTC (${ageText(row.age_seconds)} ago)` : "no backup recorded";
  node.textContent = row.ok ? `OK · ${success}` : `Not OK · ${row.error}${row.last_success ? ` · ${success}` : ""}`;
  node.dataset.ok = row.ok;
}

// Run the status job (every server in one run); return its rows by database.
async function statusRows() {
  const report = await operation("POST", "/api/status", {});
  return new Map(report.databases.map((row) => [row.database, row]));
}

// The databases list's Status column, from one status job for all of them.
async function setUpStatusColumn(table) {
  const state = document.getElementById("status-state");
  try {
    const rows = await statusRows();
    for (const tr of table.querySelectorAll("tbody tr")) {
      const row = rows.get(tr.dataset.database);
      if (row) showStatus(tr.querySelector("td.status"), row);
    }
    state.textContent = "";
  } catch (error) {
    for (const cell of table.querySelectorAll("td.status")) cell.textContent = "unknown";
    state.textContent = `The status could not be read: ${error.message}`;
  }
}

// What a schedule keeps, as `schedule list` says it.
function retentionText(schedule) {
  const rules = Object.entries(schedule)
    .filter(([key, value]) => key.startsWith("keep_") && key !== "keep_local" && value !== null)
    .map(([key, value]) => `${key.slice("keep_".length)} ${value}`);
  return `keep ${schedule.keep_local} on the server, in S3 ${rules.length ? rules.join(", ") : "everything"}`;
}

// A count field's value for the API: null when empty, a number when it is one; else the text,
// which the API refuses with its own message.
function countValue(text) {
  const trimmed = text.trim();
  if (!trimmed) return null;
  return /^\d+$/.test(trimmed) ? Number(trimmed) : trimmed;
}

// A database's Schedule section: what is scheduled, the form that sets it, Remove, and the
// status line with its refresh.
function setUpSchedule(section) {
  const database = section.dataset.database;
  const path = `/api/databases/${encodeURIComponent(database)}/schedule`;
  const edit = document.getElementById("schedule-edit");
  const form = document.getElementById("schedule-form");
  const field = (name) => form.elements[name];
  const counts = [...form.elements].filter((input) => input.name.startsWith("keep_"));
  const saveButton = document.getElementById("schedule-save");
  const removeButton = document.getElementById("schedule-remove");
  const refreshButton = document.getElementById("status-refresh");
  const statusLine = document.getElementById("status-line");
  const jobBox = document.getElementById("schedule-job");

  // Show `schedule` (GET …/schedule; null: none) above the form.
  function show(schedule) {
    const facts = schedule ? [
      ["Cron", element("code", {}, schedule.cron)],
      ["Retention", retentionText(schedule)],
      ["Ping URL", schedule.notify_url || "none"],
      ["Installed", schedule.installed ? `yes, on server ${schedule.server}`
        : `no: save it again once server ${schedule.server} can be reached`],
    ] : [["Scheduled backups", "none"]];
    document.getElementById("schedule-summary").replaceChildren(
      ...facts.flatMap(([term, value]) => [element("dt", {}, term), element("dd", {}, value)]));
    field("notify_remove").disabled = !schedule?.notify_url;
    document.getElementById("notify-note").textContent = schedule?.notify_url
      ? `Stored (${schedule.notify_url}); leave empty to keep it.`
      : "Optional: a healthchecks.io-compatible URL, pinged at the start, success and failure of each run.";
    removeButton.hidden = !schedule;
    edit.querySelector("summary").textContent = schedule ? "Change the schedule" : "Set a schedule";
  }

  // Fill the form with `schedule` (null: empty it); the ping URL is never filled back.
  function fill(schedule) {
    field("cron").value = schedule ? schedule.cron : "";
    for (const input of counts) input.value = schedule && schedule[input.name] !== null ? schedule[input.name] : "";
    field("notify_url").value = "";
    field("notify_remove").checked = false;
  }

  async function stored() {
    try {
      return await api("GET", path);
    } catch (error) {
      if (error.status === 404) return null;  // no schedule
      throw error;
    }
  }

  function change(what, method, body, succeeded) {
    return operate({
      box: jobBox, what, method, path, body, succeeded,
      setRunning: (value) => { saveButton.disabled = removeButton.disabled = value; },
      after: async () => {
        show(await stored());
        refreshStatus();  // the status judges a scheduled database by its schedule
      },
    });
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = { cron: field("cron").value };
    for (const input of counts) body[input.name] = countValue(input.value);
    if (field("notify_remove").checked) body.notify_url = null;
    else if (field("notify_url").value) body.notify_url = field("notify_url").value;
    change("Saving the schedule", "PUT", body, (saved) => {
      fill(saved);
      edit.open = false;  // saved: the summary shows it (a refused form stays as it is, open, to be fixed)
      return `Scheduled backups of ${database} installed on ${saved.server}: ${saved.cron}, ${retentionText(saved)}.`;
    });
  });

  removeButton.addEventListener("click", () => {
    const question = `Remove the scheduled backups of ${database} from server ${section.dataset.server}? ` +
      "Backups already made stay.";
    if (!confirm(question)) return;
    change("Removing the schedule", "DELETE", undefined, (removed) => {
      fill(null);
      return `Scheduled backups of ${database} removed from ${removed.server}.`;
    });
  });

  // One status job at a time: a refresh asked for while one runs follows it.
  let checking = Promise.resolve();
  function refreshStatus() {
    checking = checking.then(checkStatus);
  }

  async function checkStatus() {
    const done = busy(refreshButton, "Checking…");
    statusLine.textContent = "Checking the last backup…";
    delete statusLine.dataset.ok;
    try {
      showStatus(statusLine, (await statusRows()).get(database));
    } catch (error) {
      statusLine.textContent = `The status could not be read: ${error.message}`;
    } finally {
      done();
    }
  }

  refreshButton.addEventListener("click", refreshStatus);
  const initial = JSON.parse(section.dataset.schedule);
  show(initial);
  fill(initial);
  refreshStatus();
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("s3-form");
  if (form) setUpSettings(form);
  const databases = document.getElementById("databases-table");
  if (databases) setUpStatusColumn(databases);
  const schedule = document.getElementById("schedule");
  if (schedule) setUpSchedule(schedule);
  const backups = document.getElementById("backups");
  if (backups) setUpBackups(backups);
});
