// Try an API call from the docs page: same origin, the visitor's own token, nothing stored.
(function () {
  "use strict";
  var SHOWN_HEADERS = ["Location", "X-Pagination", "ETag", "Retry-After"];
  document.querySelectorAll("form[data-try]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var status = form.querySelector(".api-status");
      var answer = form.querySelector(".api-answer");
      var path = form.getAttribute("data-path");
      var query = new URLSearchParams();
      form.querySelectorAll("[data-param]").forEach(function (input) {
        if (input.getAttribute("data-param") === "path") {
          path = path.replace("{" + input.name + "}", encodeURIComponent(input.value));
        } else if (input.value !== "") {
          query.append(input.name, input.value);
        }
      });
      if (query.toString()) { path += "?" + query.toString(); }
      var headers = { "Accept": "application/json, application/pdf" };
      var token = document.getElementById("api-token").value.trim();
      if (token) { headers["Authorization"] = "Bearer " + token; }
      var options = { method: form.getAttribute("data-method"), headers: headers, credentials: "omit" };
      var body = form.querySelector("textarea");
      if (body && body.value.trim()) {
        headers["Content-Type"] = "application/json";
        options.body = body.value;
      }
      status.textContent = "Sending…";
      answer.hidden = true;
      fetch(path, options).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        var read;
        if (!type) {
          read = Promise.resolve("(no body)");
        } else if (type.indexOf("json") >= 0) {
          read = response.json().then(function (data) { return JSON.stringify(data, null, 2); });
        } else {
          read = response.blob().then(function (data) { return "(" + type + ", " + data.size + " bytes)"; });
        }
        // The headers a client acts on: where a created object lives, the pages of a list,
        // the tag to send back, how long to wait.
        var told = SHOWN_HEADERS.filter(function (name) {
          return response.headers.has(name);
        }).map(function (name) {
          return name + ": " + response.headers.get(name) + "\n";
        }).join("");
        return read.then(function (text) {
          var line = response.status + " " + response.statusText;
          answer.textContent = line + "\n" + told + "\n" + text;
          answer.hidden = false;
          status.textContent = line;
        });
      }).catch(function (error) {
        status.textContent = "The request failed: " + error;
      });
    });
  });
})();
