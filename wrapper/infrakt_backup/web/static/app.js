// infrakt backup's pages: calls to /api with the page's CSRF token, a toast per result, live
// job state while a long operation runs. No build step: plain browser JavaScript.
"use strict";

const CSRF = document.querySelector('meta[name="csrf-token"]').content;
const POLL_MS = 700;

// Send one call; return {status, data}, or throw the API's one-line error.
async function call(method, path, body) {
  const options = { method, headers: { "X-CSRF-Token": CSRF }, credentials: "same-origin" };
  if (body !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(body);
  }
  const response = await fetch(path, options);
  const data = await response.json().catch(() => ({ error: `${response.status} ${response.statusText}` }));
  if (!response.ok) throw new Error(data.error || `${response.status} ${response.statusText}`);
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
// (status, schedule, verification) is one more entry.
const BACKUP_COLUMNS = [
  { heading: "Filename", cell: (backup) => element("code", {}, backup.filename) },
  { heading: "Size", cell: (backup) => humanSize(backup.size) },
  { heading: "Created (UTC)", cell: (backup) => backup.created.replace("T", " ").replace("Z", "") },
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

  function showJob(what) {
    return (job) => {
      jobBox.hidden = false;
      const last = job.progress.length ? job.progress[job.progress.length - 1].replace(/^… /, "") : "starting";
      jobBox.textContent = job.state === "running" ? `${what}: ${last}…` : `${what}: ${job.state}.`;
      jobBox.dataset.state = job.state;
    };
  }

  async function operate(what, action, body, succeeded) {
    setRunning(true);
    jobBox.hidden = false;
    jobBox.dataset.state = "running";
    jobBox.textContent = `${what}: starting…`;
    let said;
    try {
      said = [succeeded(await operation("POST", `${path}/${action}`, body, showJob(what))), "success"];
    } catch (error) {
      jobBox.textContent = `${what}: failed.`;
      jobBox.dataset.state = "failed";
      said = [`${what} failed: ${error.message}`, "error"];
    }
    setRunning(false);
    await load();
    toast(...said);
  }

  function restoreFrom(filename) {
    const question = `Restore ${filename} into database ${database} (${section.dataset.engine} on server ` +
      `${section.dataset.server})? Its current data will be replaced.`;
    if (!confirm(question)) return;
    operate("Restore", "restore", { filename }, (result) =>
      `Restored ${database} from ${filename}${result.downloaded ? " (downloaded from S3)" : ""}.`);
  }

  createButton.addEventListener("click", () =>
    operate("Backup", "backup", {}, (result) =>
      `Backup created: ${result.filename}${result.location === "local+s3" ? ", uploaded to S3" : ""}.`));
  load();
}

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("s3-form");
  if (form) setUpSettings(form);
  const backups = document.getElementById("backups");
  if (backups) setUpBackups(backups);
});
