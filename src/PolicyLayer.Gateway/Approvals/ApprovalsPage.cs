using System.Globalization;
using System.Net;

namespace PolicyLayer.Gateway;

/// <summary>
/// The approvals inbox page: self-contained (no CDN, inline style and script under a per-response CSP nonce), rendering
/// every value with DOM text nodes so that nothing an agent sent can become markup, and polling for changes.
/// </summary>
internal static class ApprovalsPage
{
    public static string Render(string basePath, string approver, string tokenField, string token, string nonce, int refreshMilliseconds, int maxNoteLength)
    {
        static string A(string value) => WebUtility.HtmlEncode(value);
        return Template
            .Replace("{{nonce}}", A(nonce), StringComparison.Ordinal)
            .Replace("{{base}}", A(basePath), StringComparison.Ordinal)
            .Replace("{{approver}}", A(approver), StringComparison.Ordinal)
            .Replace("{{field}}", A(tokenField), StringComparison.Ordinal)
            .Replace("{{token}}", A(token), StringComparison.Ordinal)
            .Replace("{{refresh}}", refreshMilliseconds.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{{maxNote}}", maxNoteLength.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
    }

    private const string Template = """
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>PolicyLayer approvals</title>
<style nonce="{{nonce}}">
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; background: #f5f6f8; color: #1d2330; }
header.top { background: #1d2330; color: #fff; padding: 12px 24px; display: flex; justify-content: space-between; align-items: baseline; }
header.top h1 { font-size: 18px; margin: 0; }
main { max-width: 980px; margin: 20px auto; padding: 0 16px; }
#status { color: #667; font-size: 13px; margin-bottom: 12px; }
#empty { color: #667; padding: 24px; text-align: center; }
article { background: #fff; border: 1px solid #d8dce3; border-left: 6px solid #999; border-radius: 6px; padding: 14px 18px; margin-bottom: 14px; }
article.pending { border-left-color: #d98e04; }
article.approved, article.used { border-left-color: #1f8f4e; }
article.denied { border-left-color: #c0392b; }
article.expired { border-left-color: #8a8f99; }
article h2 { font-size: 16px; margin: 0 0 8px; display: flex; gap: 10px; align-items: center; }
.tool { font-family: ui-monospace, SFMono-Regular, Menlo, monospace; }
.badge { font-size: 12px; text-transform: uppercase; letter-spacing: .04em; padding: 2px 8px; border-radius: 10px; background: #eceef2; }
.pending .badge { background: #fdf0d5; color: #8a5a00; }
.approved .badge, .used .badge { background: #dcf3e5; color: #17663a; }
.denied .badge { background: #f9dedb; color: #8e2418; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0 0 10px; }
dt { color: #667; } dd { margin: 0; overflow-wrap: anywhere; }
pre.args { background: #0f1420; color: #e6e9ef; padding: 10px 12px; border-radius: 4px; white-space: pre-wrap; overflow-wrap: anywhere; margin: 0 0 10px; font-size: 13px; }
textarea { width: 100%; box-sizing: border-box; min-height: 44px; font: inherit; margin-bottom: 8px; }
button { font: inherit; padding: 6px 16px; border-radius: 4px; border: 1px solid transparent; cursor: pointer; margin-right: 8px; }
button.approve { background: #1f8f4e; color: #fff; } button.deny { background: #c0392b; color: #fff; }
button:disabled { opacity: .5; cursor: default; }
#notice { background: #f9dedb; color: #8e2418; border: 1px solid #e7b3ad; border-radius: 6px; padding: 8px 12px; margin-bottom: 12px; }
</style>
</head>
<body data-base="{{base}}" data-field="{{field}}" data-token="{{token}}" data-refresh="{{refresh}}" data-max-note="{{maxNote}}">
<header class="top"><h1>PolicyLayer approvals</h1><span>Signed in as <strong id="approver">{{approver}}</strong></span></header>
<main>
<div id="status">Loading…</div>
<div id="notice" role="alert" hidden></div>
<div id="records"></div>
<div id="empty" hidden>No calls are waiting for approval.</div>
</main>
<script nonce="{{nonce}}">
(() => {
  'use strict';
  const body = document.body;
  const base = body.dataset.base, field = body.dataset.field, token = body.dataset.token;
  const refresh = Number(body.dataset.refresh), maxNote = Number(body.dataset.maxNote);
  const list = document.getElementById('records'), status = document.getElementById('status'), empty = document.getElementById('empty');
  const notice = document.getElementById('notice');
  const cards = new Map();

  function el(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(props || {})) {
      if (k === 'class') node.className = v; else if (k === 'text') node.textContent = v; else node.setAttribute(k, v);
    }
    for (const child of children) if (child) node.append(child);
    return node;
  }

  function row(dl, name, value) {
    if (value === undefined || value === null || value === '') return;
    dl.append(el('dt', { text: name }), el('dd', { text: value }));
  }

  function caller(c) {
    const parts = [];
    if (c.user) parts.push('user ' + c.user);
    if (c.grant) parts.push('grant ' + c.grant);
    if (c.agent) parts.push('agent ' + c.agent);
    return parts.length ? parts.join(', ') : 'anonymous';
  }

  function build(r) {
    const card = el('article', { class: r.status, 'data-id': r.id, 'data-key': r.status + '|' + (r.decidedAt || '') });
    card.append(el('h2', null, el('span', { class: 'tool', text: r.tool }), el('span', { class: 'badge', text: r.status })));
    const dl = el('dl');
    row(dl, 'Caller', caller(r.caller));
    row(dl, 'Why', r.reason);
    row(dl, 'Rule', r.ruleId);
    row(dl, 'Held at', r.createdAt);
    row(dl, 'Expires at', r.expiresAt);
    row(dl, 'Approval id', r.id);
    if (r.decidedBy) row(dl, r.status === 'denied' ? 'Denied by' : 'Approved by', r.decidedBy + ' at ' + r.decidedAt);
    row(dl, 'Note', r.note);
    card.append(dl);
    card.append(el('div', { class: 'label', text: 'Arguments (complete)' }));
    card.append(el('pre', { class: 'args', text: r.arguments }));
    if (r.status === 'pending') {
      const note = el('textarea', { name: 'note', maxlength: String(maxNote), placeholder: 'Note (optional; a denial\u2019s note is shown to the agent)' });
      const approve = el('button', { class: 'approve', type: 'button', text: 'Approve' });
      const deny = el('button', { class: 'deny', type: 'button', text: 'Deny' });
      const answer = async (verb) => {
        approve.disabled = deny.disabled = true;
        notice.hidden = true;
        const refused = (text) => {
          notice.textContent = (verb === 'approve' ? 'Could not approve ' : 'Could not deny ') + r.tool + ' (' + r.id + '): ' + text;
          notice.hidden = false;
        };
        const form = new URLSearchParams();
        form.set('note', note.value);
        form.set(field, token);
        try {
          const res = await fetch(base + '/' + encodeURIComponent(r.id) + '/' + verb, { method: 'POST', body: form, credentials: 'same-origin' });
          const data = await res.json().catch(() => ({ message: 'HTTP ' + res.status }));
          if (!res.ok) { refused(data.message || ('HTTP ' + res.status)); approve.disabled = deny.disabled = false; }
        } catch (e) {
          refused(String(e));
          approve.disabled = deny.disabled = false;
        }
        await load();
      };
      approve.addEventListener('click', () => answer('approve'));
      deny.addEventListener('click', () => answer('deny'));
      card.append(note, el('div', null, approve, deny));
    }
    return card;
  }

  function render(records) {
    const live = new Set();
    records.forEach((r, i) => {
      live.add(r.id);
      const key = r.status + '|' + (r.decidedAt || '');
      let card = cards.get(r.id);
      if (!card || card.dataset.key !== key) {
        const fresh = build(r);
        if (card) card.replaceWith(fresh);
        cards.set(r.id, fresh);
        card = fresh;
      }
      if (list.children[i] !== card) list.insertBefore(card, list.children[i] || null);
    });
    for (const [id, card] of cards) if (!live.has(id)) { card.remove(); cards.delete(id); }
    empty.hidden = records.some(r => r.status === 'pending');
  }

  async function load() {
    try {
      const res = await fetch(base + '/records', { headers: { Accept: 'application/json' }, cache: 'no-store', credentials: 'same-origin' });
      if (!res.ok) { status.textContent = 'Could not load the inbox: HTTP ' + res.status; return; }
      const data = await res.json();
      render(data.records);
      status.textContent = data.records.filter(r => r.status === 'pending').length + ' waiting \u00b7 updated ' + new Date().toLocaleTimeString();
    } catch (e) {
      status.textContent = 'Could not load the inbox: ' + e;
    }
  }

  load();
  setInterval(load, refresh);
})();
</script>
</body>
</html>
""";
}
