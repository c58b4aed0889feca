/* Live progress of disc jobs: polls /api/jobs (the list) or /api/jobs/ID (a job's page) once a
   second and updates state, progress bar, message and error in place. Text only ever goes in
   through textContent, so nothing the API returns is parsed as HTML. */
(function () {
  "use strict";
  var PERIOD = 1000;
  var table = document.getElementById("jobs");
  var live = document.getElementById("live");
  if (!table && !live) {
    return;
  }

  function setText(el, text) {
    if (el && el.textContent !== text) {
      el.textContent = text;
    }
  }

  function showProgress(container, job) {
    var p = job.progress || {};
    var total = Math.max(p.total || 0, 0);
    var done = Math.max(p.done || 0, 0);
    var bar = container.querySelector("progress");
    if (bar) {
      bar.max = Math.max(total, 1);
      bar.value = total ? Math.min(done, total) : 0;
    }
    setText(container.querySelector(".pct"), total ? Math.floor((100 * done) / total) + "%" : "");
    setText(container.querySelector(".message"), p.message || "");
  }

  function showState(el, state) {
    if (el) {
      setText(el, state);
      el.className = "state state-" + state;
    }
  }

  function get(url) {
    return fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}}).then(function (r) {
      if (r.status === 401) {
        window.location.href = "/login?next=" + encodeURIComponent(window.location.pathname + window.location.search);
        throw new Error("logged out");
      }
      if (!r.ok) {
        throw new Error("HTTP " + r.status);
      }
      return r.json();
    });
  }

  function updateList(jobs) {
    var view = table.getAttribute("data-view");
    var maxId = 0;
    table.querySelectorAll("tbody tr[data-job]").forEach(function (tr) {
      maxId = Math.max(maxId, Number(tr.getAttribute("data-job")));
    });
    var reload = false;
    jobs.forEach(function (job) {
      var row = table.querySelector('tr[data-job="' + Number(job.id) + '"]');
      if (!row) {
        reload = reload || (view === "all" && job.id > maxId) || (view === "ready" && job.state === "done");
        return;
      }
      var stateCell = row.querySelector(".state");
      var was = stateCell ? stateCell.textContent : "";
      showState(stateCell, job.state);
      showProgress(row.querySelector(".progress"), job);
      setText(row.querySelector(".error-text"), job.error_message || job.error || "");
      if (was !== job.state && job.state === "done") {
        setText(row.querySelector(".handout"), "disc(s) ready");
      }
    });
    if (reload) {
      window.location.reload();
    }
  }

  function updateJob(job) {
    var was = live.getAttribute("data-state");
    showState(live.querySelector(".state"), job.state);
    showProgress(live.querySelector(".progress"), job);
    setText(live.querySelector("#job-error"), job.error_message || job.error || "");
    if (was !== job.state) {
      live.setAttribute("data-state", job.state);
      if (job.state === "done" || job.state === "failed" || job.state === "cancelled" || job.state === "mastered") {
        window.location.reload(); /* volumes, discs and the actions that now apply */
      }
    }
  }

  function settled() {
    var s = live && live.getAttribute("data-state");
    return s === "done" || s === "cancelled";
  }

  function tick() {
    if (document.hidden || settled()) {
      window.setTimeout(tick, PERIOD);
      return;
    }
    var request = table
      ? get("/api/jobs?limit=" + Number(table.getAttribute("data-limit") || 100)).then(updateList)
      : get("/api/jobs/" + Number(live.getAttribute("data-job"))).then(updateJob);
    request.catch(function () { /* try again at the next tick */ }).then(function () {
      window.setTimeout(tick, PERIOD);
    });
  }

  window.setTimeout(tick, PERIOD);
})();
