// What every page shares: its server data, language and texts, errors in our own words, photo picking
// and uploading. Loaded before the page's own script (both deferred), which reads it as window.ClaimPages.
window.ClaimPages = (() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  // The server's data for this page (regions, perils, limits, the claim): the data island, never a copy here.
  const data = (() => {
    try { return JSON.parse($('page-data').textContent) || {}; } catch (e) { return {}; }
  })();
  const limits = data.limits || {};
  const pickLang = (v) => (v && /^en\b/i.test(v) ? 'en' : (v && /^zh\b/i.test(v) ? 'zh-CN' : null));
  const page = {
    lang: pickLang(data.language) || pickLang(document.documentElement.getAttribute('lang')) ||
      pickLang(new URLSearchParams(location.search).get('lang')) || 'zh-CN'
  };
  // Where the API is: the root the server says the page hangs from (a stage's, behind API Gateway).
  const root = typeof data.root === 'string' && data.root.startsWith('/') ? data.root : '/';
  const maxMb = Math.round((limits.photo_bytes || 0) / 1048576);
  const photoTypes = Array.isArray(limits.photo_types) ? limits.photo_types : [];

  // Texts every page says the same way; a page's own table adds to them.
  const COMMON = {
    'zh-CN': {
      brand: '在线理赔', switch_to: 'English', remove: '删除', remove_label: '删除照片 {name}',
      e_type: '“{name}”不是支持的照片格式，请选择 JPG、PNG 或 HEIC 照片。',
      e_size: '“{name}”太大了（{size}），每张照片不能超过 {max_mb} MB。',
      e_empty: '“{name}”是空文件，请换一张照片。'
    },
    en: {
      brand: 'Online claims', switch_to: '中文', remove: 'Remove', remove_label: 'Remove photo {name}',
      e_type: '“{name}” is not a supported photo type. Please choose a JPG, PNG or HEIC photo.',
      e_size: '“{name}” is too large ({size}). Each photo must be {max_mb} MB or less.',
      e_empty: '“{name}” is an empty file. Please choose another photo.'
    }
  };
  // The limits every text may quote, so a text never says another number than the server checks.
  const quoted = {max_mb: maxMb, max_photos: limits.photos_at_once, max_desc: limits.description_chars,
    max_address: limits.address_chars, max_name: limits.name_chars};

  function texts(own) {
    const table = {};
    for (const l of ['zh-CN', 'en']) table[l] = Object.assign({}, COMMON[l], own[l] || {});
    const dict = () => table[page.lang] || table['zh-CN'];
    const t = (key, p) => {
      const s = dict()[key] != null ? dict()[key] : (table['zh-CN'][key] != null ? table['zh-CN'][key] : key);
      if (typeof s !== 'string') return key;
      const values = Object.assign({}, quoted, p || {});
      return s.replace(/\{(\w+)\}/g, (m, k) => (k in values && values[k] != null ? String(values[k]) : m));
    };
    const from = (group, key) => (dict()[group] || {})[key];
    return {t, from};
  }

  // ---- helpers ----
  const fmtSize = (n) => (n >= 1048576 ? (n / 1048576).toFixed(1) + ' MB' : Math.max(1, Math.round(n / 1024)) + ' KB');
  function photoType(f) {
    const name = (f.name || '').toLowerCase();
    if (f.type) return f.type === 'image/jpg' || f.type === 'image/pjpeg' ? 'image/jpeg' : f.type;
    if (name.endsWith('.heic')) return 'image/heic';
    if (/\.jpe?g$/.test(name)) return 'image/jpeg';
    if (name.endsWith('.png')) return 'image/png';
    return '';
  }
  // Seconds a 429 or 503 asks to wait (a number or an HTTP date), or null.
  function retryAfterSeconds(res) {
    const h = res.headers.get('Retry-After');
    if (!h) return null;
    const s = /^\d+$/.test(h.trim()) ? parseInt(h, 10) : (Date.parse(h) - Date.now()) / 1000;
    return isFinite(s) && s > 0 ? s : null;
  }
  function postJSON(path, body, headers) {
    return fetch(root + path, {
      method: 'POST', credentials: 'same-origin', cache: 'no-store', referrerPolicy: 'no-referrer',
      headers: Object.assign({'Content-Type': 'application/json', Accept: 'application/json', 'Accept-Language': page.lang}, headers || {}),
      body: JSON.stringify(body)
    });
  }
  function setButton(btn, label, busy) {
    btn.dataset.i18n = label.key; btn.textContent = label.text;
    btn.disabled = busy; btn.classList.toggle('busy', busy);
    if (busy) btn.setAttribute('aria-busy', 'true'); else btn.removeAttribute('aria-busy');
  }

  // ---- errors ----
  // Keeps a page's errors and redraws them with render(); moves the focus to the first one's field, or
  // to the error box when that field is hidden, so it is both announced and in view.
  function errorKeeper(state, render, first) {
    return (list, focus = true) => {
      state.errors = list;
      render();
      if (!focus || !list.length) return;
      const e = first(), el = e && e.field && $(e.field);
      const target = el && !el.closest('[hidden]') ? el : $('errors');
      target.focus({preventScroll: true});
      target.scrollIntoView({block: 'center'});
    };
  }

  // ---- photos ----
  // A file input and its list: checks each picked file against the server's limits, shows thumbnails,
  // lets one be removed. onPicked(errors) after each pick, onRemoved() after a removal.
  function photoPicker({t, max, busy, onPicked, onRemoved}) {
    const input = $('photos'), list = $('photo-list');
    input.accept = photoTypes.join(',');
    const picker = {photos: []};
    input.addEventListener('change', () => {
      const errs = [];
      for (const f of Array.from(input.files || [])) {
        const type = photoType(f);
        if (picker.photos.length >= max) errs.push({field: 'photos', key: 'e_count', p: {name: f.name}});
        else if (!photoTypes.includes(type)) errs.push({field: 'photos', key: 'e_type', p: {name: f.name}});
        else if (f.size > limits.photo_bytes) errs.push({field: 'photos', key: 'e_size', p: {name: f.name, size: fmtSize(f.size)}});
        else if (f.size === 0) errs.push({field: 'photos', key: 'e_empty', p: {name: f.name}});
        else picker.photos.push({file: f, type, url: type === 'image/heic' ? null : URL.createObjectURL(f)});
      }
      input.value = '';
      picker.render();
      onPicked(errs);
      if (errs.length) input.focus();
    });
    picker.render = () => {
      list.textContent = '';
      picker.photos.forEach((ph, i) => {
        const li = document.createElement('li');
        let thumb;
        if (ph.url) {
          thumb = document.createElement('img');
          thumb.alt = ''; thumb.src = ph.url;
          thumb.addEventListener('error', () => { const s = document.createElement('span'); s.className = 'thumb'; s.textContent = 'IMG'; thumb.replaceWith(s); });
        } else { thumb = document.createElement('span'); thumb.textContent = 'HEIC'; }
        thumb.className = 'thumb';
        const meta = document.createElement('div'); meta.className = 'meta';
        const b = document.createElement('b'); b.textContent = ph.file.name;
        meta.append(b, document.createTextNode(fmtSize(ph.file.size)));
        const rm = document.createElement('button');
        rm.type = 'button'; rm.className = 'small'; rm.textContent = t('remove');
        rm.setAttribute('aria-label', t('remove_label', {name: ph.file.name}));
        rm.addEventListener('click', () => {
          if (busy()) return;
          const [gone] = picker.photos.splice(i, 1);
          if (gone && gone.url) URL.revokeObjectURL(gone.url);
          picker.render();
          onRemoved();
          input.focus();
        });
        li.append(thumb, meta, rm);
        list.appendChild(li);
      });
    };
    return picker;
  }

  // One photo of a claim: ask for an upload slot, then post the file to it (each retried once).
  // Answers null, or why not: up_failed, up_size, up_type, up_expired (the link), up_rate.
  async function uploadPhoto(claimId, token, ph) {
    let res = null;
    for (let attempt = 0; attempt < 2 && !res; attempt++) {
      try {
        res = await postJSON(`v1/claims/${encodeURIComponent(claimId)}/attachments`,
          {content_type: ph.type, size: ph.file.size, filename: ph.file.name}, {'X-Status-Token': token});
        if (res.status >= 500) res = null;
      } catch (e) { res = null; }
    }
    if (!res) return 'up_failed';
    if (res.status === 413) return 'up_size';
    if (res.status === 415) return 'up_type';
    if (res.status === 401 || res.status === 403 || res.status === 404) return 'up_expired';
    if (res.status === 429) return 'up_rate';
    if (res.status !== 201 && res.status !== 200) return 'up_failed';
    let slot;
    try { slot = await res.json(); } catch (e) { return 'up_failed'; }
    if (!slot || !slot.upload || !slot.upload.url) return 'up_failed';
    if (slot.max_bytes && ph.file.size > slot.max_bytes) return 'up_size';
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const fd = new FormData();
        for (const [k, v] of Object.entries(slot.upload.fields || {})) fd.append(k, v);
        fd.append('file', ph.file, ph.file.name);
        const up = await fetch(slot.upload.url, {method: 'POST', body: fd, referrerPolicy: 'no-referrer'});
        if (up.status >= 200 && up.status < 300) return null;
      } catch (e) { /* network or CORS failure: retried once */ }
    }
    return 'up_failed';
  }

  // ---- language ----
  function langHref(l) {
    const u = new URL(location.href);
    u.searchParams.set('lang', l);
    return u.pathname + u.search;
  }
  // The texts every page has: its title, the data-i18n elements and the language switch.
  function applyTexts(t) {
    document.documentElement.lang = page.lang;
    document.title = t('title');
    for (const el of document.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
    const other = page.lang === 'en' ? 'zh-CN' : 'en', sw = $('lang-switch');
    sw.textContent = t('switch_to'); sw.lang = other; sw.hreflang = other; sw.href = langHref(other);
  }
  // The switch changes the page's language in place (and in its address), then applyLang redraws.
  function onLanguageSwitch(applyLang) {
    $('lang-switch').addEventListener('click', (ev) => {
      ev.preventDefault();
      page.lang = page.lang === 'en' ? 'zh-CN' : 'en';
      try { history.replaceState(null, '', langHref(page.lang)); } catch (e) { /* ignore */ }
      applyLang();
    });
  }

  return Object.freeze({
    $, data, limits, page, root, texts, fmtSize, retryAfterSeconds, postJSON, setButton, errorKeeper, photoPicker, uploadPhoto,
    applyTexts, onLanguageSwitch
  });
})();
