// The upload desk: sign in with a client's id and secret, check a file (a dry run), then send it.
// The access token lives in this closure only: never in the browser's storage nor in a
// cookie, so reloading or closing the page signs out. Every call goes to this origin's API.
(function () {
  "use strict";

  var words = JSON.parse(document.getElementById("desk-words").textContent);
  var XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
  var MAX_RECORDS = 500;
  var token = null;
  var checked = null; // the statistics file the last dry run accepted: {body, type, params}
  var planned = null; // the records the last check listed

  function $(id) { return document.getElementById(id); }

  function say(key, values) {
    var text = words[key] || key;
    Object.keys(values || {}).forEach(function (name) {
      text = text.split("{" + name + "}").join(String(values[name]));
    });
    return text;
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { node.setAttribute(name, attrs[name]); });
    (children || []).forEach(function (child) {
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function api(method, path, body, type) {
    var headers = { "Accept": "application/json" };
    if (token) { headers.Authorization = "Bearer " + token; }
    if (type) { headers["Content-Type"] = type; }
    return fetch(path, { method: method, headers: headers, body: body, credentials: "omit",
                         cache: "no-store" })
      .then(function (response) {
        return response.text().then(function (text) {
          var data = null;
          try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
          return { status: response.status, ok: response.ok, data: data };
        });
      });
  }

  function problemText(answer) {
    var data = answer.data || {};
    var text = data.detail || data.title || say("upload_request_failed", { status: answer.status });
    (data.errors || []).forEach(function (error) {
      text += " · " + (error.field || error.loc || "") + ": " + (error.message || error.msg || "");
    });
    return text;
  }

  // ------------------------------------------------------------------ sign in

  function signedIn(me) {
    $("sign-in-form").hidden = true;
    $("who").hidden = false;
    $("who-text").textContent = say("upload_signed_in", {
      client: me.client_id || me.sub || "", state: me.tenant || "—"
    });
    $("statistics").hidden = false;
    $("records").hidden = false;
  }

  function signOut() {
    token = null;
    checked = null;
    planned = null;
    $("sign-in-form").hidden = false;
    $("who").hidden = true;
    $("statistics").hidden = true;
    $("records").hidden = true;
    clear($("statistics-report"));
    clear($("records-report"));
    $("statistics-send").disabled = true;
    $("records-send").disabled = true;
    $("sign-in-status").textContent = say("upload_signed_out");
  }

  $("sign-in-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = new URLSearchParams();
    form.set("grant_type", "client_credentials");
    form.set("client_id", $("client-id").value.trim());
    form.set("client_secret", $("client-secret").value);
    $("client-secret").value = ""; // the secret is not kept, even in the form
    $("sign-in-status").textContent = "";
    api("POST", "/v1/auth/token", form.toString(), "application/x-www-form-urlencoded")
      .then(function (answer) {
        if (!answer.ok || !answer.data || !answer.data.access_token) {
          $("sign-in-status").textContent = say("upload_sign_in_failed") + " " + problemText(answer);
          return null;
        }
        token = answer.data.access_token;
        return api("GET", "/v1/auth/me").then(function (me) {
          $("sign-in-status").textContent = "";
          signedIn(me.data || {});
        });
      })
      .catch(function () { $("sign-in-status").textContent = say("upload_sign_in_failed"); });
  });
  $("sign-out").addEventListener("click", signOut);

  // ------------------------------------------------------------------ statistics

  function statisticsRequest(file, body) {
    var name = file.name.toLowerCase();
    var xlsx = name.slice(-5) === ".xlsx" || file.type === XLSX;
    var params = new URLSearchParams();
    params.set("strategy", $("statistics-strategy").value);
    var sheet = $("statistics-sheet").value.trim();
    if (xlsx && sheet) { params.set("sheet", sheet); }
    return { body: body, type: xlsx ? XLSX : "text/csv", params: params, xlsx: xlsx };
  }

  function reportView(report, xlsx) {
    var box = el("div", { "class": "report status-" + report.status, "data-status": report.status });
    box.appendChild(el("p", { "class": "verdict" }, [say("upload_status_" + report.status)]));
    var note = report.status === "ERROR" ? "upload_refused_note"
      : (report.dry_run ? "upload_dry_run_note" : "upload_done_note");
    box.appendChild(el("p", { "class": "note" }, [say(note)]));
    var counts = el("dl", { "class": "counts" });
    ["received", "imported", "updated", "ignored", "deleted"].forEach(function (name) {
      counts.appendChild(el("dt", {}, [say("upload_count_" + name)]));
      counts.appendChild(el("dd", { "data-count": name }, [String(report.counts[name])]));
    });
    box.appendChild(counts);
    if (!report.conflicts.length) {
      box.appendChild(el("p", {}, [say("upload_no_problems")]));
      return box;
    }
    box.appendChild(el("h3", {}, [say("upload_problems")]));
    var unit = report.numbering === "index" ? "upload_item" : (xlsx ? "upload_row" : "upload_line");
    var body = el("tbody");
    report.conflicts.forEach(function (conflict) {
      conflict.rows.forEach(function (row) {
        body.appendChild(el("tr", { "class": conflict.severity, "data-row": String(row) }, [
          el("td", {}, [say(conflict.severity === "error" ? "upload_error" : "upload_error_warning")]),
          el("td", {}, [say(unit, { n: row })]),
          el("td", {}, [conflict.column || "—"]),
          el("td", {}, [conflict.message + " (" + conflict.code + ")"])
        ]));
      });
      if (conflict.count > conflict.rows.length) {
        body.appendChild(el("tr", { "class": "more" }, [el("td", { colspan: "4" }, [
          say("upload_more_rows", { n: conflict.count - conflict.rows.length, message: conflict.message })
        ])]));
      }
    });
    box.appendChild(el("table", { "class": "problems" }, [
      el("thead", {}, [el("tr", {}, [
        el("th", {}, [say("upload_severity")]), el("th", {}, [say("upload_where")]),
        el("th", {}, [say("upload_column")]), el("th", {}, [say("upload_message")])
      ])]),
      body
    ]));
    return box;
  }

  function sendStatistics(request, dryRun) {
    var params = new URLSearchParams(request.params);
    params.set("dry_run", dryRun ? "true" : "false");
    var out = $("statistics-report");
    clear(out);
    out.appendChild(el("p", {}, [say(dryRun ? "upload_checking" : "upload_sending")]));
    return api("POST", "/v1/statistics/observations?" + params.toString(), request.body, request.type)
      .then(function (answer) {
        clear(out);
        var report = answer.ok ? answer.data : (answer.data && answer.data.report);
        if (report) {
          out.appendChild(reportView(report, request.xlsx));
        } else {
          out.appendChild(el("p", { "class": "report status-ERROR", "data-status": "ERROR" },
                             [problemText(answer)]));
        }
        return answer.ok && report;
      });
  }

  $("statistics-file").addEventListener("change", function () {
    checked = null;
    $("statistics-send").disabled = true;
    clear($("statistics-report"));
  });
  ["statistics-sheet", "statistics-strategy"].forEach(function (id) {
    $(id).addEventListener("change", function () { checked = null; $("statistics-send").disabled = true; });
  });

  $("statistics-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var file = $("statistics-file").files[0];
    if (!file) { $("statistics-report").textContent = say("upload_pick_file"); return; }
    $("statistics-send").disabled = true;
    file.arrayBuffer().then(function (body) {
      var request = statisticsRequest(file, body);
      return sendStatistics(request, true).then(function (ok) {
        checked = ok ? request : null;
        $("statistics-send").disabled = !ok;
      });
    });
  });

  $("statistics-send").addEventListener("click", function () {
    if (!checked) { return; }
    var request = checked;
    checked = null;
    $("statistics-send").disabled = true;
    sendStatistics(request, false);
  });

  // ------------------------------------------------------------------ practices and programmes

  function recordsPlan(text) {
    var document_;
    try { document_ = JSON.parse(text); } catch (e) { return { error: say("upload_records_not_json") }; }
    var items = Array.isArray(document_) ? document_ : [document_];
    if (!items.length || !items.every(function (i) { return i && typeof i === "object" && !Array.isArray(i); })) {
      return { error: say("upload_records_not_objects") };
    }
    if (items.length > MAX_RECORDS) { return { error: say("upload_records_limit", { n: MAX_RECORDS }) }; }
    var seen = {};
    for (var i = 0; i < items.length; i += 1) {
      var ref = items[i].source_ref;
      if (ref) {
        if (seen[ref]) { return { error: say("upload_records_duplicate_ref", { ref: ref }) }; }
        seen[ref] = true;
      }
    }
    return { items: items };
  }

  function recordLabel(item, index) {
    var title = item.title;
    if (title && typeof title === "object") { title = title.en || title.ru || Object.values(title)[0]; }
    return "#" + (index + 1) + (item.source_ref ? " " + item.source_ref : "") + (title ? " — " + title : "");
  }

  $("records-file").addEventListener("change", function () {
    planned = null;
    $("records-send").disabled = true;
    clear($("records-report"));
  });
  $("records-kind").addEventListener("change", function () { planned = null; $("records-send").disabled = true; });

  $("records-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var file = $("records-file").files[0];
    var out = $("records-report");
    clear(out);
    if (!file) { out.textContent = say("upload_pick_file"); return; }
    file.text().then(function (text) {
      var plan = recordsPlan(text);
      if (plan.error) {
        out.appendChild(el("p", { "class": "report status-ERROR", "data-status": "ERROR" }, [plan.error]));
        return;
      }
      planned = { kind: $("records-kind").value, items: plan.items };
      out.appendChild(el("p", {}, [say("upload_records_plan", { n: plan.items.length })]));
      var list = el("ol", { "class": "records" });
      plan.items.forEach(function (item, index) {
        list.appendChild(el("li", {}, [recordLabel(item, index) + " · " +
          (item.source_ref ? say("upload_records_put") : say("upload_records_post"))]));
      });
      out.appendChild(list);
      $("records-send").disabled = false;
    });
  });

  $("records-send").addEventListener("click", function () {
    if (!planned) { return; }
    var plan = planned;
    planned = null;
    $("records-send").disabled = true;
    var out = $("records-report");
    clear(out);
    var list = el("ol", { "class": "records" });
    out.appendChild(list);
    var done = 0;
    var failed = 0;
    var chain = Promise.resolve();
    plan.items.forEach(function (item, index) {
      chain = chain.then(function () {
        var path = "/v1/" + plan.kind;
        var method = "POST";
        if (item.source_ref) {
          path += "/by-ref/" + encodeURIComponent(item.source_ref);
          method = "PUT";
        }
        return api(method, path, JSON.stringify(item), "application/json").then(function (answer) {
          var ok = answer.ok;
          if (ok) { done += 1; } else { failed += 1; }
          var detail = ok
            ? say("upload_records_result", { status: answer.status, id: (answer.data || {}).id || "",
                                             version: (answer.data || {}).version || "" })
            : problemText(answer);
          var link = ok && answer.data && answer.data.id
            ? el("a", { href: "/" + plan.kind + "/" + answer.data.id }, [detail]) : detail;
          list.appendChild(el("li", { "class": ok ? "ok" : "error", "data-status": String(answer.status) },
                              [recordLabel(item, index) + " · ", link]));
        });
      });
    });
    chain.then(function () {
      out.appendChild(el("p", { "class": "summary" }, [say("upload_records_summary", { ok: done, failed: failed })]));
    });
  });
}());
