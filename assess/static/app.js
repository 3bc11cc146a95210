// Progressive enhancements only: every page works without this file.
//
// Loaded in the head without defer: the guards on sending a form (asking before an
// irreversible step, sending once, keeping a draft) listen on the document before any of
// the page is drawn, so no button can be pressed ahead of its guard, on a slow connection
// too. What works on the page's elements waits until they are all there.
(function () {
  "use strict";

  // A table region is a tab stop only while it scrolls: a keyboard user needs it to scroll,
  // everyone else would meet an empty stop.
  // Asked again whenever a preview replaces part of the page.
  var tabOnlyWhenScrolling = function () {
    document.querySelectorAll(".table-scroll[tabindex]").forEach(function (region) {
      region.tabIndex = region.scrollWidth > region.clientWidth + 1 ? 0 : -1;
    });
  };

  // What a consultant typed survives a sign-in that ended in the meantime (signed out in
  // another tab, or timed out): a form is copied into this tab's storage as it is sent; the
  // sign-in page or the expired-form page right after keeps the copy, any other page drops
  // it, and the form's own page puts it back once. Passwords and hidden fields are never
  // copied, and signing out in this tab forgets every copy.
  var DRAFT = "assess-draft:";
  var DRAFT_HOURS = 12;
  var draftKey = function (form) {
    // The attribute, not form.action: a control named "action" would stand in for it.
    var action = form.getAttribute("action") || location.pathname;
    return DRAFT + new URL(action, location.href).pathname + "#" + form.id;
  };
  var copied = function (field) {
    return field.name && field.name !== "csrf_token" && !field.disabled &&
      ["password", "hidden", "file", "submit", "button", "reset"].indexOf(field.type) < 0;
  };
  // Whose sign-in the page was drawn for (none on the sign-in page): a copy is put back only
  // for the consultant who typed it, never for whoever signs in next in this tab.
  var account = function () { return document.body.getAttribute("data-account") || ""; };
  var storage = null;
  try { storage = window.sessionStorage; } catch (error) { storage = null; }
  if (storage) {
    document.addEventListener("submit", function (event) {
      var form = event.target;
      if (form.hasAttribute("data-forget-drafts")) {
        Object.keys(storage).forEach(function (key) {
          if (key.indexOf(DRAFT) === 0) { storage.removeItem(key); }
        });
      }
      if (!form.hasAttribute("data-keep-draft") || !form.id || event.defaultPrevented) { return; }
      var fields = [];
      Array.prototype.forEach.call(form.elements, function (field) {
        if (!copied(field)) { return; }
        if (field.type === "radio" || field.type === "checkbox") {
          if (field.checked) { fields.push([field.name, field.value, true]); }
        } else {
          fields.push([field.name, field.value, false]);
        }
      });
      storage.setItem(draftKey(form), JSON.stringify({
        at: Date.now(), kept: false, page: location.pathname + location.search, fields: fields,
        account: account()
      }));
    });
  }

  // Irreversible steps ask first; without JavaScript the button simply submits.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var question = button && button.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });

  // A double click sends a form once: the second request would answer the first with
  // "already done", and what the first showed once (new links) would never be seen. Only
  // the same button within two seconds counts as a repeat: another button of the form, a
  // form opening a new tab, or a download asked for again a moment later still go.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var target = (button && button.getAttribute("formtarget")) || form.getAttribute("target");
    if (event.defaultPrevented || target === "_blank" ||
        (form.method || "").toLowerCase() !== "post") { return; }
    var key = button ? [button.name, button.value, button.getAttribute("formaction")].join("|") : "";
    var last = form.getAttribute("data-sent") || "";
    var at = Number(form.getAttribute("data-sent-at") || 0);
    if (last === key && Date.now() - at < 2000) { event.preventDefault(); return; }
    form.setAttribute("data-sent", key);
    form.setAttribute("data-sent-at", String(Date.now()));
  });
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form[data-sent-at]").forEach(function (form) {
      form.removeAttribute("data-sent-at");
    });
  });

  // Agreed values: say what the chosen level means for the chosen factor. Listened for on
  // the document because a preview of adjusted answers replaces the form.
  var explainAgreed = function () {
    var agree = document.getElementById("agree-form");
    var meaning = document.getElementById("agree-meaning");
    if (!agree || !meaning) { return; }
    var factor = agree.querySelector("input[name=factor]:checked");
    var value = agree.querySelector("input[name=value]:checked");
    var level = value ? parseInt(value.value, 10) : NaN;
    if (!factor || !(level >= 1 && level <= 5)) { meaning.hidden = true; return; }
    var label = agree.querySelector("label[for='" + factor.id + "']");
    var name = label ? label.firstChild.textContent.trim() : "";
    meaning.textContent = name + " at " + level + ": " + JSON.parse(factor.dataset.anchors)[level - 1];
    meaning.hidden = false;
  };
  document.addEventListener("change", function (event) {
    if (event.target.closest && event.target.closest("#agree-form")) { explainAgreed(); }
  });

  // What works on the page's own elements: run once they are all there.
  var enhance = function () {
    // Move focus to the error summary so keyboard and screen reader users hear it first.
    var summary = document.querySelector("[data-focus]");
    if (summary) { summary.focus(); }

    // A link in the summary to one of a question's choices scrolls the question into view with
    // them: jumping to the first choice alone would leave the question above the screen.
    document.querySelectorAll(".error-summary a[href^='#']").forEach(function (link) {
      link.addEventListener("click", function (event) {
        var target = document.getElementById(link.getAttribute("href").slice(1));
        var question = target && target.closest("fieldset.factor");
        if (!question) { return; }
        event.preventDefault();
        question.scrollIntoView();
        target.focus({ preventScroll: true });
      });
    });

    // Copy-to-clipboard buttons for invitation and signatory links, and for a new API token
    // (data-copy-what names what is copied: "link" unless it says otherwise).
    // What happened is said in the row as well, where a screen reader hears it; a copy the
    // browser refuses leaves the link selected and says so in sight, for the keyboard to copy.
    document.querySelectorAll("[data-copy]").forEach(function (button) {
      var field = document.querySelector(button.getAttribute("data-copy"));
      if (!field || !navigator.clipboard) { return; }
      var label = button.innerHTML;
      var what = button.getAttribute("data-copy-what") || "link";
      var restore = null;
      var said = document.createElement("p");
      said.setAttribute("role", "status");
      said.className = "copy-status small visually-hidden";
      button.parentNode.appendChild(said);
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(field.value).then(function () {
          said.className = "copy-status small visually-hidden";
          said.textContent = what.charAt(0).toUpperCase() + what.slice(1) + " copied.";
          button.textContent = "Copied";
          clearTimeout(restore);
          restore = setTimeout(function () { button.innerHTML = label; }, 2000);
        }, function () {
          clearTimeout(restore);
          button.innerHTML = label;
          field.focus();
          field.select();
          said.className = "copy-status small";
          said.textContent = "The " + what + " could not be copied here. It is selected: copy it with " +
            "Ctrl+C, or \u2318C on a Mac.";
        });
      });
      field.addEventListener("focus", function () { field.select(); });
    });

    tabOnlyWhenScrolling();
    window.addEventListener("resize", tabOnlyWhenScrolling);

    // Drafts kept, a sign-in to lead back, and a draft put back into its form.
    if (storage) {
      var keepHere = document.querySelector("[data-keep-drafts]");
      var kept = 0;
      var bounced = [];
      Object.keys(storage).forEach(function (key) {
        if (key.indexOf(DRAFT) !== 0) { return; }
        var draft;
        try { draft = JSON.parse(storage.getItem(key)); } catch (error) { draft = null; }
        var age = draft ? Date.now() - draft.at : Infinity;
        // Only a form sent a moment ago was turned away; an older copy was answered before.
        var justSent = keepHere && age < 60 * 1000;
        var someoneElses = account() && draft && draft.account !== account();
        if (age > DRAFT_HOURS * 3600 * 1000 || (!draft.kept && !justSent) || someoneElses) {
          storage.removeItem(key);
          return;
        }
        if (justSent) {
          draft.kept = true;
          storage.setItem(key, JSON.stringify(draft));
          kept += 1;
          if (draft.page) { bounced.push(draft.page); }
        }
      });
      var note = document.querySelector("[data-drafts-note]");
      if (note && kept) { note.hidden = false; }
      // Signing in leads back to the page the form was typed on (the server checks the path).
      var signIn = document.querySelector("form[data-sign-in]");
      if (signIn && bounced.length && !signIn.querySelector("input[name=next]")) {
        var next = document.createElement("input");
        next.type = "hidden";
        next.name = "next";
        next.value = bounced[bounced.length - 1];
        signIn.append(next);
      }
      document.querySelectorAll("form[data-keep-draft]").forEach(function (form) {
        var key = draftKey(form);
        var draft = form.id && storage.getItem(key) && JSON.parse(storage.getItem(key));
        if (!draft || !draft.kept) { return; }
        storage.removeItem(key);
        draft.fields.forEach(function (saved) {
          Array.prototype.forEach.call(form.elements, function (field) {
            if (field.name !== saved[0] || !copied(field)) { return; }
            if (field.type === "radio" || field.type === "checkbox") {
              if (field.value === saved[1]) { field.checked = true; }
            } else {
              field.value = saved[1];
            }
          });
        });
        var notice = document.createElement("p");
        notice.className = "notice small";
        notice.id = "draft-restored";
        notice.setAttribute("role", "status");
        notice.textContent = "What you typed before your sign-in ended is back in this form. " +
          "It is not saved yet: check it, then send it again.";
        form.before(notice);
        form.dispatchEvent(new Event("change", { bubbles: true }));
      });
    }

    // Invitation form: the name follows the side chosen while it is empty or still a party's
    // name as filled in, so one party's name never stays behind for the other side; a name the
    // consultant typed is theirs to keep. (Without JavaScript the server refuses the mix-up.)
    var inviteForm = document.getElementById("invite-form");
    var inviteName = inviteForm && inviteForm.querySelector("input[name=respondent_name]");
    if (inviteName) {
      var partyNames = Array.prototype.map.call(
        inviteForm.querySelectorAll("input[name=side]"),
        function (side) { return side.getAttribute("data-party-name") || ""; }
      );
      inviteForm.addEventListener("change", function (event) {
        var side = event.target;
        if (side.name !== "side" || !side.checked) { return; }
        var typed = inviteName.value.trim();
        if (typed && partyNames.indexOf(typed) < 0) { return; }
        inviteName.value = side.getAttribute("data-party-name") || "";
      });
    }

    explainAgreed();

    // Result page: preview the recommendation as soon as an answer is adjusted.
    var adjust = document.getElementById("adjust-form");
    var main = document.getElementById("result-main");
    if (adjust && main && window.fetch && window.DOMParser) {
      var latest = 0;
      adjust.addEventListener("change", function () {
        var mine = ++latest;
        var url = adjust.action + "?" + new URLSearchParams(new FormData(adjust)).toString();
        main.setAttribute("aria-busy", "true");
        fetch(url, { credentials: "same-origin" }).then(function (response) {
          // Led elsewhere (the sign-in page, once the sign-in has ended): that is no preview,
          // so the adjusted page is opened instead, and signing in leads back to it.
          if (response.redirected) { throw new Error("not a preview"); }
          return response.text();
        }).then(function (html) {
          if (mine !== latest) { return; }  // a newer change is already on its way
          var doc = new DOMParser().parseFromString(html, "text/html");
          // Reasons typed for adjusted consensus levels outlive the preview that asked for them.
          document.querySelectorAll("#preview-notice textarea[name]").forEach(function (typed) {
            var again = doc.querySelector("#preview-notice textarea[name='" + typed.name + "']");
            if (again) { again.textContent = typed.value; }
          });
          ["result-main", "preview-notice"].forEach(function (id) {
            var fresh = doc.getElementById(id);
            var old = document.getElementById(id);
            if (fresh && old) { old.replaceWith(fresh); }
            else if (fresh && !old) { document.querySelector(".result-layout").before(fresh); }
            else if (old && !fresh) { old.remove(); }
          });
          var status = document.getElementById("adjust-status");
          var freshStatus = doc.getElementById("adjust-status");
          if (status && freshStatus) { status.textContent = freshStatus.textContent; }
          document.querySelectorAll("#adjust-form .badge").forEach(function (b) { b.remove(); });
          doc.querySelectorAll("#adjust-form .adjust-factor").forEach(function (factor, i) {
            var badge = factor.querySelector(".badge");
            var here = document.querySelectorAll("#adjust-form .adjust-factor legend")[i];
            if (badge && here) { here.append(" ", badge); }
          });
          tabOnlyWhenScrolling();
          history.replaceState(null, "", url);
        }).catch(function () {
          adjust.submit();
        }).finally(function () {
          var current = document.getElementById("result-main");
          if (current) { current.removeAttribute("aria-busy"); }
        });
      });
    }

    // Says that every enhancement is in place: the browser tests wait for it.
    document.documentElement.setAttribute("data-script", "ready");
  };
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", enhance);
  } else {
    enhance();
  }
})();
