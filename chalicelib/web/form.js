// The claim form: find the policy (step 1), say what happened and pick photos (step 2), send the claim,
// upload its photos, then open its status page. Shared parts come from site.js (window.ClaimPages).
(() => {
  'use strict';
  const site = window.ClaimPages;
  const {$, data, limits, page, root} = site;
  const MAX_PHOTOS = limits.photos_at_once, MAX_DESC = limits.description_chars;
  const FIELDS = ['policy_number', 'phone', 'loss_type', 'occurred_at', 'region_code', 'address', 'description', 'amount', 'claimant_name', 'photos'];
  const ALIASES = {'policy.number': 'policy_number', 'claimant.phone': 'phone', 'claimant.name': 'claimant_name', 'loss.type': 'loss_type',
    'loss.occurred_at': 'occurred_at', 'loss.description': 'description', 'loss.location.region_code': 'region_code',
    'loss.location.address': 'address', 'amount.value': 'amount'};

  const T = {
    'zh-CN': {
      title: '申请理赔', h1: '申请理赔',
      intro: '大约一分钟即可完成。提交后您可以随时在进度页面查看处理情况。',
      s1: '找到您的保单', s2: '发生了什么', optional: '（选填）', optional_photos: '（选填，最多 {max_photos} 张）',
      l_policy: '保单号', h_policy: '可在购买保险的 App 里“我的保险”或保单短信中找到。',
      l_phone: '手机号', h_phone: '请填写购买保险时使用的手机号。',
      b_continue: '继续', b_checking: '正在查找保单…',
      product: '您的保险：{name}',
      l_loss: '遇到了什么情况', choose: '请选择',
      l_when: '发生时间', h_when: '请选择日期和大概时间。',
      l_region: '发生地点', h_region: '如果不在列表中，请选择“其他地区”，并在下面填写地址。', other: '其他地区',
      l_address: '详细地址', h_address: '例如：某某路 100 号，或店铺名称。',
      l_desc: '经过描述', h_desc: '简单说明发生了什么、损失了什么，几句话即可。', counter: '已输入 {n} / {max} 字',
      l_amount: '损失金额（元）', h_amount: '例如 35.50，最多两位小数。',
      l_name: '您的姓名',
      l_photos: '照片', h_photos: '例如小票、订单截图、受损物品。支持 JPG、PNG、HEIC 格式，每张不超过 {max_mb} MB。',
      photos_n: '已选择 {n} 张照片',
      b_submit: '提交理赔', b_sending: '正在提交…',
      uploading: '正在上传第 {i} 张照片（共 {n} 张）…', redirect: '提交成功，正在打开理赔进度页面…',
      privacy: '您填写的信息仅用于处理本次理赔。',
      fix: '请检查以下内容：',
      e_policy_number: '请填写保单号。', e_policy_number_bad: '保单号格式不对，请按保单上的号码填写（字母和数字）。',
      e_phone: '请填写购买保险时使用的手机号。', e_phone_bad: '请填写正确的手机号，例如 13800138000。',
      e_loss_type: '请选择遇到了什么情况。', e_loss_type_bad: '您的保险不包括这种情况，请重新选择。',
      e_occurred_at: '请选择发生的日期和时间。', e_occurred_at_bad: '请选择正确的日期和时间。',
      e_occurred_at_future: '发生时间不能晚于现在。',
      e_region_code: '请选择发生地点。如果不在列表中，请选择“其他地区”。',
      e_address_bad: '请检查地址（最多 {max_address} 字）。',
      e_description: '请简单描述发生了什么。', e_description_bad: '描述最多 {max_desc} 字，请精简一下。',
      e_amount: '请填写损失金额（元）。', e_amount_bad: '请填写正确的金额，例如 35.50（最多两位小数）。',
      e_amount_zero: '损失金额需要大于 0。',
      e_claimant_name_bad: '请检查姓名（最多 {max_name} 字）。',
      e_photos_bad: '有照片无法使用，请换一张 JPG、PNG 或 HEIC 照片，每张不超过 {max_mb} MB。',
      e_count: '最多只能添加 {max_photos} 张照片，“{name}”没有添加。',
      not_matched: '保单号与手机号不匹配，请核对后重试。',
      rate_min: '尝试次数太多，请 {n} 分钟后再试。', rate_later: '尝试次数太多，请稍后再试。',
      network: '网络好像出了点问题，请检查网络后再试一次。您填写的内容都还在。',
      server: '系统暂时出了点问题，请稍后再试一次。您填写的内容都还在。',
      invalid: '有些信息需要修改，请检查后再提交。',
      unprocessable: '这份理赔暂时无法受理。请核对填写的内容，或联系客服。',
      conflict: '这份理赔已经提交过了。如需修改内容，请刷新页面重新填写。',
      no_perils: '这份保单暂时不能在线申请理赔，请联系客服。',
      up_failed: '第 {i} 张照片（{name}）没有上传成功，您可以稍后在理赔进度页面补充上传。',
      up_size: '第 {i} 张照片（{name}）太大，没有上传。您可以在理赔进度页面换一张上传。',
      up_type: '第 {i} 张照片（{name}）格式不支持，没有上传。您可以在理赔进度页面换一张上传。'
    },
    en: {
      title: 'Make a claim', h1: 'Make a claim',
      intro: 'It takes about a minute. Afterwards you can follow your claim on its status page.',
      s1: 'Find your policy', s2: 'What happened', optional: '(optional)', optional_photos: '(optional, up to {max_photos})',
      l_policy: 'Policy number', h_policy: 'You can find it under “My insurance” in the app where you bought it, or in the text message we sent you.',
      l_phone: 'Mobile phone number', h_phone: 'The number you used when you bought the insurance.',
      b_continue: 'Continue', b_checking: 'Finding your policy…',
      product: 'Your insurance: {name}',
      l_loss: 'What happened?', choose: 'Please choose',
      l_when: 'When did it happen?', h_when: 'Choose the date and the approximate time.',
      l_region: 'Where did it happen?', h_region: 'If your area is not listed, choose “Other” and type the address below.', other: 'Other',
      l_address: 'Address', h_address: 'For example a street and number, or the name of the shop.',
      l_desc: 'Tell us what happened', h_desc: 'A few sentences are enough: what happened and what you lost.', counter: '{n} of {max} characters',
      l_amount: 'How much did you lose? (yuan)', h_amount: 'For example 35.50 (at most 2 decimals).',
      l_name: 'Your name',
      l_photos: 'Photos', h_photos: 'For example the receipt, a screenshot of the order, the damage. JPG, PNG or HEIC, up to {max_mb} MB each.',
      photos_n: '{n} photo(s) selected',
      b_submit: 'Send my claim', b_sending: 'Sending…',
      uploading: 'Uploading photo {i} of {n}…', redirect: 'Sent! Opening your claim status…',
      privacy: 'We only use these details to handle this claim.',
      fix: 'Please check the following:',
      e_policy_number: 'Please enter your policy number.', e_policy_number_bad: 'This does not look like a policy number. Please copy it from your policy (letters and digits).',
      e_phone: 'Please enter the mobile number you used when you bought the insurance.', e_phone_bad: 'Please enter a valid mobile number, for example 13800138000.',
      e_loss_type: 'Please choose what happened.', e_loss_type_bad: 'Your insurance does not cover this. Please choose again.',
      e_occurred_at: 'Please enter the date and time it happened.', e_occurred_at_bad: 'Please enter a valid date and time.',
      e_occurred_at_future: 'The date and time cannot be in the future.',
      e_region_code: 'Please choose where it happened. If your area is not listed, choose “Other”.',
      e_address_bad: 'Please check the address ({max_address} characters at most).',
      e_description: 'Please tell us briefly what happened.', e_description_bad: 'The description can be {max_desc} characters at most. Please shorten it.',
      e_amount: 'Please enter how much you lost, in yuan.', e_amount_bad: 'Please enter an amount like 35.50 (at most 2 decimals).',
      e_amount_zero: 'The amount must be more than 0.',
      e_claimant_name_bad: 'Please check your name ({max_name} characters at most).',
      e_photos_bad: 'A photo could not be used. Please choose a JPG, PNG or HEIC photo of {max_mb} MB or less.',
      e_count: 'You can add up to {max_photos} photos, so “{name}” was not added.',
      not_matched: 'We could not find a policy with this number and phone. Please check both and try again.',
      rate_min: 'Too many attempts. Please try again in {n} minute(s).', rate_later: 'Too many attempts. Please try again later.',
      network: 'We could not connect. Please check your internet connection and try again. What you typed is still here.',
      server: 'Something went wrong on our side. Please try again in a moment. What you typed is still here.',
      invalid: 'Some details need correcting. Please check the form and try again.',
      unprocessable: 'We cannot accept this claim online. Please check your details or contact customer service.',
      conflict: 'This claim was already sent. To change it, please reload the page and fill in the form again.',
      no_perils: 'This policy cannot be claimed online. Please contact customer service.',
      up_failed: 'Photo {i} ({name}) could not be uploaded. You can add it from the status page.',
      up_size: 'Photo {i} ({name}) is too large and was not uploaded. You can add another one from the status page.',
      up_type: 'Photo {i} ({name}) is not a supported type and was not uploaded. You can add another one from the status page.'
    }
  };
  const {t} = site.texts(T);

  function newKey() {
    try { if (window.crypto && crypto.randomUUID) return crypto.randomUUID(); } catch (e) { /* not a secure context */ }
    const b = new Uint8Array(16);
    if (window.crypto && crypto.getRandomValues) crypto.getRandomValues(b);
    else for (let i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  const state = {
    key: newKey(), checked: null, product: null, errors: [],
    checking: false, busy: false, leaving: false, progress: null
  };
  $('claim-form').dataset.submissionKey = state.key;

  // ---- text helpers ----
  const cleanPolicy = (v) => v.normalize('NFKC').replace(/\s+/g, '').toUpperCase();
  const cleanPhone = (v) => {
    const s = v.normalize('NFKC').trim();
    return (s.startsWith('+') ? '+' : '') + s.replace(/\D/g, '');
  };
  function cleanAmount(v) {
    let s = v.normalize('NFKC').replace(/[\s¥$元]|RMB|CNY/gi, '').replace(/[。．]/g, '.');
    if (/^\d{1,3}(,\d{3})+(\.\d*)?$/.test(s)) s = s.replace(/,/g, '');
    return s;
  }
  function formatAmount(s) {
    const m = /^(\d{1,12})(?:\.(\d{0,2}))?$/.exec(s);
    if (!m) return null;
    const int = m[1].replace(/^0+(?=\d)/, '');
    return int + '.' + (m[2] || '').padEnd(2, '0');
  }
  const pad = (n) => String(n).padStart(2, '0');
  const localValue = (d) => `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  function parseLocal(v) {
    const m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?/.exec(v || '');
    if (!m) return null;
    const d = new Date(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
    if (isNaN(d.getTime()) || d.getMonth() !== +m[2] - 1) return null;
    const off = -d.getTimezoneOffset(), a = Math.abs(off);
    const iso = `${String(d.getFullYear()).padStart(4, '0')}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}` +
      `${off >= 0 ? '+' : '-'}${pad(Math.floor(a / 60))}:${pad(a % 60)}`;
    return {date: d, iso};
  }

  // ---- errors ----
  const setErrors = site.errorKeeper(state, () => renderErrors(), () => sortedErrors()[0]);
  function clearErrors() { setErrors([], false); }
  const rank = (e) => (e.field ? FIELDS.indexOf(e.field) : -1);
  const sortedErrors = () => state.errors.slice().sort((a, b) => rank(a) - rank(b));
  function renderErrors() {
    for (const f of FIELDS) {
      const el = $(f), fe = $(f + '-error');
      if (el) el.removeAttribute('aria-invalid');
      if (fe) { fe.textContent = ''; fe.hidden = true; }
    }
    const box = $('errors');
    box.textContent = '';
    if (!state.errors.length) return;
    const sorted = sortedErrors();
    if (sorted.some((e) => e.field)) {
      const p = document.createElement('p'); p.textContent = t('fix'); box.appendChild(p);
    }
    const ul = document.createElement('ul');
    for (const e of sorted) {
      const msg = t(e.key, e.p), li = document.createElement('li');
      if (e.field && $(e.field)) {
        const a = document.createElement('a');
        a.href = '#' + e.field; a.dataset.field = e.field; a.textContent = msg;
        li.appendChild(a);
        $(e.field).setAttribute('aria-invalid', 'true');
        const fe = $(e.field + '-error');
        fe.textContent = fe.textContent ? fe.textContent + ' ' + msg : msg;
        fe.hidden = false;
      } else li.textContent = msg;
      ul.appendChild(li);
    }
    box.appendChild(ul);
  }
  $('errors').addEventListener('click', (ev) => {
    const a = ev.target.closest('a[data-field]');
    if (!a) return;
    ev.preventDefault();
    const el = $(a.dataset.field);
    el.focus({preventScroll: true}); el.scrollIntoView({block: 'center'});
  });

  function fieldOf(name) {
    if (!name) return null;
    if (ALIASES[name]) return ALIASES[name];
    const first = name.split('.')[0];
    if (FIELDS.includes(first)) return first;
    for (const k of Object.keys(ALIASES)) if (name.startsWith(k + '.')) return ALIASES[k];
    return null;
  }
  async function readError(res) {
    try { const j = await res.json(); return (j && j.error) || {}; } catch (e) { return {}; }
  }
  // Errors of a failed answer, in our own words (the server's English text is never shown).
  async function errorsOf(res) {
    const err = await readError(res);
    if (res.status === 429) {
      const s = site.retryAfterSeconds(res), n = s && Math.max(1, Math.ceil(s / 60));
      return [n ? {key: 'rate_min', p: {n}} : {key: 'rate_later'}];
    }
    if (res.status === 404 || err.code === 'POLICY_NOT_MATCHED') return [{key: 'not_matched'}];
    if (res.status === 400) {
      const seen = new Set(), out = [];
      for (const d of Array.isArray(err.details) ? err.details : []) {
        const f = fieldOf(d && d.field);
        if (!f || seen.has(f)) continue;
        seen.add(f);
        out.push({field: f, key: `e_${f}_bad`});
      }
      return out.length ? out : [{key: 'invalid'}];
    }
    if (res.status === 413 || res.status === 415) return [{key: 'invalid'}];
    if (res.status === 409) return [{key: 'conflict'}];
    if (res.status === 422) return [{key: 'unprocessable'}];
    return [{key: 'server'}];
  }
  const setButton = (btn, key, busy) => site.setButton(btn, {key, text: t(key)}, busy);
  function setProgress(key, p) {
    state.progress = key ? {key, p} : null;
    $('progress').textContent = key ? t(key, p) : '';
  }

  // ---- step 1 ----
  function validateStep1() {
    const errs = [];
    const pn = cleanPolicy($('policy_number').value), ph = cleanPhone($('phone').value);
    if (!pn) errs.push({field: 'policy_number', key: 'e_policy_number'});
    else if (!/^[A-Z0-9][A-Z0-9/-]{3,39}$/.test(pn)) errs.push({field: 'policy_number', key: 'e_policy_number_bad'});
    const digits = ph.replace(/\D/g, '');
    if (!digits) errs.push({field: 'phone', key: 'e_phone'});
    else if (digits.length < 6 || digits.length > 15) errs.push({field: 'phone', key: 'e_phone_bad'});
    return {errs, pn, ph};
  }
  // Checks the policy; true when step 2 can go on. Errors are shown here.
  async function checkPolicy() {
    const v = validateStep1();
    if (v.errs.length) { setErrors(v.errs); return false; }
    let res;
    try { res = await site.postJSON('v1/public/policy-check', {policy_number: v.pn, phone: v.ph}); } catch (e) {
      setErrors([{key: 'network'}]); return false;
    }
    if (res.status !== 200) { setErrors(await errorsOf(res)); return false; }
    let data;
    try { data = await res.json(); } catch (e) { setErrors([{key: 'server'}]); return false; }
    if (!data || !Array.isArray(data.perils) || !data.perils.length) { setErrors([{key: 'no_perils'}]); return false; }
    state.product = data;
    state.checked = {pn: v.pn, ph: v.ph};
    renderProduct(); renderPerils();
    return true;
  }
  $('find-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (state.checking || state.busy) return;
    state.checking = true;
    const btn = $('continue');
    setButton(btn, 'b_checking', true);
    clearErrors();
    try {
      if (await checkPolicy()) {
        const wasHidden = $('claim-form').hidden;
        $('claim-form').hidden = false;
        btn.hidden = true;
        setMaxDate();
        if (wasHidden) { const h = $('step2-title'); h.focus({preventScroll: true}); h.scrollIntoView({block: 'start'}); }
      }
    } finally {
      state.checking = false;
      setButton(btn, 'b_continue', false);
    }
  });
  for (const id of ['policy_number', 'phone']) {
    $(id).addEventListener('input', () => {
      const c = state.checked;
      if (c && (cleanPolicy($('policy_number').value) !== c.pn || cleanPhone($('phone').value) !== c.ph)) {
        state.checked = null; // checked again on submit (or with Continue)
        $('continue').hidden = false;
      }
    });
  }

  function renderProduct() {
    const el = $('product'), d = state.product;
    if (!d) { el.textContent = ''; return; }
    const names = d.product_name || {};
    el.textContent = t('product', {name: names[page.lang] || names['zh-CN'] || names.en || d.product || ''});
  }
  function perilName(p) {
    const names = p.name || (data.perils || {})[p.code] || {};
    const n = names[page.lang] || names['zh-CN'] || names.en || p.code;
    if (page.lang !== 'en') return n;
    const s = n.replace(/^(a|an|the)\s+/i, '');
    return s.charAt(0).toUpperCase() + s.slice(1);
  }
  function renderPerils() {
    const sel = $('loss_type'), keep = sel.value, perils = state.product ? state.product.perils : [];
    sel.textContent = '';
    if (perils.length !== 1) sel.appendChild(new Option(t('choose'), ''));
    for (const p of perils) sel.appendChild(new Option(perilName(p), p.code));
    if (perils.some((p) => p.code === keep)) sel.value = keep;
  }
  function renderRegions() {
    const sel = $('region_code'), keep = sel.value;
    sel.textContent = '';
    sel.appendChild(new Option(t('choose'), ''));
    for (const r of data.regions || []) sel.appendChild(new Option(r.name[page.lang] || r.name['zh-CN'], r.code));
    sel.appendChild(new Option(t('other'), data.other_region));
    sel.value = keep;
  }
  function setMaxDate() { $('occurred_at').max = localValue(new Date()); }
  $('occurred_at').addEventListener('focus', setMaxDate);
  function updateCounter() {
    $('description-count').textContent = t('counter', {n: $('description').value.length, max: MAX_DESC});
  }
  $('description').addEventListener('input', updateCounter);

  // ---- photos ----
  const showCount = () => { $('photos-status').textContent = t('photos_n', {n: picker.photos.length}); };
  const picker = site.photoPicker({
    t, max: MAX_PHOTOS, busy: () => state.busy,
    onPicked: (errs) => {
      setErrors(state.errors.filter((e) => e.field !== 'photos').concat(errs), false);
      showCount();
    },
    onRemoved: showCount
  });

  // ---- step 2 ----
  function validateStep2() {
    const errs = [], body = {};
    const lt = $('loss_type').value;
    if (!lt) errs.push({field: 'loss_type', key: 'e_loss_type'});
    const when = $('occurred_at').value;
    const parsed = parseLocal(when);
    if (!when) errs.push({field: 'occurred_at', key: 'e_occurred_at'});
    else if (!parsed) errs.push({field: 'occurred_at', key: 'e_occurred_at_bad'});
    else if (parsed.date.getTime() > Date.now() + 60000) errs.push({field: 'occurred_at', key: 'e_occurred_at_future'});
    const rc = $('region_code').value;
    if (!/^\d{6}$/.test(rc)) errs.push({field: 'region_code', key: 'e_region_code'});
    const addr = $('address').value.trim();
    if (addr.length > limits.address_chars) errs.push({field: 'address', key: 'e_address_bad'});
    const desc = $('description').value.trim();
    if (!desc) errs.push({field: 'description', key: 'e_description'});
    else if (desc.length > MAX_DESC) errs.push({field: 'description', key: 'e_description_bad'});
    const rawAmt = $('amount').value.trim(), amt = formatAmount(cleanAmount(rawAmt));
    if (!rawAmt) errs.push({field: 'amount', key: 'e_amount'});
    else if (!amt) errs.push({field: 'amount', key: 'e_amount_bad'});
    else if (!/[1-9]/.test(amt)) errs.push({field: 'amount', key: 'e_amount_zero'});
    const name = $('claimant_name').value.trim();
    if (name.length > limits.name_chars) errs.push({field: 'claimant_name', key: 'e_claimant_name_bad'});
    Object.assign(body, {loss_type: lt, occurred_at: parsed && parsed.iso, region_code: rc, description: desc, amount: amt});
    if (addr) body.address = addr;
    if (name) body.claimant_name = name;
    return {errs, body};
  }

  $('claim-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    if (state.busy || state.checking || state.leaving) return; // a double tap sends once
    state.busy = true;
    const btn = $('submit');
    setButton(btn, 'b_sending', true);
    clearErrors();
    try {
      const s1 = validateStep1(), s2 = validateStep2();
      if (s1.errs.length || s2.errs.length) { setErrors(s1.errs.concat(s2.errs)); return; }
      if (!state.checked || state.checked.pn !== s1.pn || state.checked.ph !== s1.ph) {
        if (!(await checkPolicy())) return;
        if (!state.product.perils.some((p) => p.code === s2.body.loss_type)) {
          setErrors([{field: 'loss_type', key: 'e_loss_type_bad'}]); return;
        }
      }
      const body = Object.assign({submission_key: state.key, policy_number: s1.pn, phone: s1.ph}, s2.body, {language: page.lang});
      // the photos follow the claim: saying how many lets the system wait for them before it decides
      if (picker.photos.length) body.attachments_expected = picker.photos.length;
      setProgress('b_sending');
      let res;
      try { res = await site.postJSON('v1/public/claims', body); } catch (e) { setErrors([{key: 'network'}]); return; }
      if (res.status !== 202 && res.status !== 200 && res.status !== 201) { setErrors(await errorsOf(res)); return; }
      let claim;
      try { claim = await res.json(); } catch (e) { claim = null; }
      if (!claim || !claim.claim_id || !claim.status_url) { setErrors([{key: 'server'}]); return; }
      state.leaving = true;
      await uploadAll(claim);
    } finally {
      if (!state.leaving) { state.busy = false; setButton(btn, 'b_submit', false); setProgress(null); }
    }
  });

  async function uploadAll(claim) {
    const failures = [];
    const photos = picker.photos;
    for (let i = 0; i < photos.length; i++) {
      setProgress('uploading', {i: i + 1, n: photos.length});
      const why = await site.uploadPhoto(claim.claim_id, claim.status_token || '', photos[i]);
      // the status page takes any photo left behind: this page only says which, and why if it knows
      const key = why === 'up_size' || why === 'up_type' ? why : 'up_failed';
      if (why) failures.push({key, p: {i: i + 1, name: photos[i].file.name}});
    }
    let url = String(claim.status_url);
    if (url.startsWith('/') && !url.startsWith('//')) url = root + url.slice(1);
    setProgress('redirect');
    if (failures.length) {
      try { sessionStorage.setItem('claim-photo-failures:' + claim.claim_id, JSON.stringify(failures.map((f) => f.p))); } catch (e) { /* storage off */ }
      setErrors(failures);
      setTimeout(() => location.assign(url), 2500);
    } else location.assign(url);
  }

  // ---- language ----
  function applyLang() {
    site.applyTexts(t);
    renderRegions(); renderPerils(); renderProduct(); picker.render(); renderErrors(); updateCounter();
    if (state.progress) setProgress(state.progress.key, state.progress.p);
    if (picker.photos.length) showCount();
  }
  site.onLanguageSwitch(applyLang);

  // the server's limits on the fields, so the browser stops typing where the server would refuse
  $('address').maxLength = limits.address_chars;
  $('description').maxLength = MAX_DESC;
  $('claimant_name').maxLength = limits.name_chars;

  applyLang();
  setMaxDate();
})();
