// The status page: the claim's reference, status, next step and history, polled while the claim moves;
// photos can be added. Shared parts come from site.js (window.ClaimPages).
(() => {
  'use strict';
  const site = window.ClaimPages;
  const {$, data, page, root} = site;
  const FAST = ['RECEIVED', 'SCORED'];
  const SURVEY = ['AWAITING_SURVEYOR', 'WAITING_FOR_SURVEYOR', 'SURVEYOR_ASSIGNED', 'SURVEY_COMPLETED'];

  const T = {
    'zh-CN': {
      title: '理赔进度', h1: '理赔进度', loading: '正在加载…',
      invalid_h: '链接无效或已过期', invalid_p: '这个链接无效或已经过期。请使用提交理赔后收到的最新链接，或联系客服查询。', new_claim: '申请新的理赔',
      ref_h: '理赔编号', ref_hint: '联系客服时，请报出这个编号。', copy: '复制编号', copied: '已复制',
      spelled: '读法：{s}', letter: '字母{c}', lower: '小写字母{c}', dash: '横线',
      status_h: '当前状态', next_h: '接下来', received_at: '提交时间：',
      photos_h: '照片', photos_pre: '已收到照片：', photos_post: ' 张',
      l_photos: '补充照片', h_photos: '支持 JPG、PNG、HEIC 格式，每张不超过 {max_mb} MB，一次最多 {max_photos} 张。',
      b_upload: '上传照片', b_uploading: '正在上传…',
      uploading: '正在上传第 {i} 张照片（共 {n} 张）…', uploaded: '已上传 {n} 张照片。稍后会计入上面的数量。',
      timeline_h: '处理记录', tz_note: '以下时间均为北京时间。',
      bookmark: '请收藏本页，方便随时查看进度。本页会自动更新，无需刷新。',
      conn_retry: '暂时连不上网络，我们会自动重试。', conn_wait: '访问太频繁，稍后会自动刷新。',
      steps: {received: '已提交', review: '审核', survey: '查勘', decision: '结果', done: '结案'},
      step_done: '（已完成）', step_current: '（当前）',
      status: {
        RECEIVED: '我们已收到您的理赔申请。', SCORED: '我们已完成初步核对，正在安排下一步。',
        AWAITING_PHOTOS: '我们正在等待您的照片上传完成。',
        IN_REVIEW: '理赔专员正在审核您的申请。', AWAITING_SURVEYOR: '您的理赔需要查勘员查看现场，我们正在安排。',
        WAITING_FOR_SURVEYOR: '我们正在为您寻找空闲的查勘员。', SURVEYOR_ASSIGNED: '已为您安排查勘员。',
        SURVEY_COMPLETED: '查勘已完成，我们正在审核结果。', APPROVED: '您的理赔已获批准。',
        REJECTED: '很抱歉，您的理赔未获批准。', CLOSED: '您的理赔已结案。',
        NEEDS_ATTENTION: '我们的团队正在查看您的理赔。'
      },
      status_unknown: '您的理赔正在处理中。',
      next: {
        wait_for_review: '您现在无需做任何事。我们审核后会在本页更新结果，您可以随时回来查看。',
        wait_for_surveyor: '我们正在安排查勘员查看损失，安排好后会在本页更新。请保持手机畅通。',
        surveyor_will_call: '查勘员会打电话给您，约定查看损失的时间。请留意来电。',
        decision_made: '我们已经作出决定，详见上方状态。如有疑问，请联系客服并报出理赔编号。',
        payment_on_the_way: '赔款正在支付给您，请留意到账。',
        closed: '本次理赔已结束，您无需再做任何事。',
        in_progress: '您的理赔正在处理中，有进展时会在本页更新。'
      },
      next_unknown: '如有疑问，请联系客服并报出理赔编号。',
      kinds: {
        'claim.received': '收到您的理赔申请', 'claim.reported': '收到您的理赔申请', 'claim.policy_resolved': '已核对您的保单',
        'claim.scored': '完成初步核对', 'claim.survey_needed': '需要查勘员查看损失', 'claim.waiting_for_surveyor': '正在等待空闲的查勘员',
        'claim.surveyor_assigned': '已安排查勘员', 'claim.attachment_added': '收到一张照片'
      },
      routed: {IN_REVIEW: '已转交理赔专员审核', AWAITING_SURVEYOR: '需要查勘员查看损失'},
      short: {
        RECEIVED: '收到理赔申请', SCORED: '完成初步核对', AWAITING_PHOTOS: '等待照片', IN_REVIEW: '审核中', AWAITING_SURVEYOR: '等待安排查勘',
        WAITING_FOR_SURVEYOR: '等待查勘员', SURVEYOR_ASSIGNED: '已安排查勘员', SURVEY_COMPLETED: '查勘完成',
        APPROVED: '理赔已批准', REJECTED: '理赔未获批准', CLOSED: '已结案', NEEDS_ATTENTION: '团队查看中'
      },
      update: '处理进度更新',
      e_none: '请先选择要上传的照片。',
      e_count: '一次最多上传 {max_photos} 张照片，“{name}”没有添加。',
      up_failed: '第 {i} 张照片（{name}）没有上传成功，请重新添加后再试。',
      up_size: '第 {i} 张照片（{name}）太大，没有上传。每张照片不能超过 {max_mb} MB。',
      up_type: '第 {i} 张照片（{name}）格式不支持，没有上传。请选择 JPG、PNG 或 HEIC 照片。',
      up_expired: '这个链接已过期，无法上传照片。请联系客服。',
      up_rate: '上传太频繁，请稍后再试。',
      carried: '第 {i} 张照片（{name}）在提交时没有上传成功，请在下方重新添加。'
    },
    en: {
      title: 'Claim status', h1: 'Your claim', loading: 'Loading…',
      invalid_h: 'This link is not valid', invalid_p: 'This link is not valid or has expired. Please use the latest link you received after sending your claim, or contact customer service.', new_claim: 'Make a new claim',
      ref_h: 'Claim reference', ref_hint: 'Quote this reference when you contact customer service.', copy: 'Copy reference', copied: 'Copied',
      spelled: 'Spelled: {s}', letter: '{c}', lower: 'lower-case {c}', dash: 'dash',
      status_h: 'Status', next_h: 'What happens next', received_at: 'Sent on: ',
      photos_h: 'Photos', photos_pre: 'Photos received: ', photos_post: '',
      l_photos: 'Add photos', h_photos: 'JPG, PNG or HEIC, up to {max_mb} MB each, up to {max_photos} at a time.',
      b_upload: 'Upload photos', b_uploading: 'Uploading…',
      uploading: 'Uploading photo {i} of {n}…', uploaded: '{n} photo(s) uploaded. They will be counted above shortly.',
      timeline_h: 'History', tz_note: 'Times are China Standard Time (Beijing, UTC+8).',
      bookmark: 'Bookmark this page to check your claim at any time. It updates by itself; no need to reload.',
      conn_retry: 'We cannot connect right now. We will keep trying.', conn_wait: 'Too many requests. This page will refresh shortly.',
      steps: {received: 'Sent', review: 'Review', survey: 'Site visit', decision: 'Decision', done: 'Closed'},
      step_done: ' (done)', step_current: ' (current step)',
      status: {
        RECEIVED: 'We have received your claim.', SCORED: 'We have done a first check and are arranging the next step.',
        IN_REVIEW: 'A claims handler is reviewing your claim.', AWAITING_SURVEYOR: 'An inspector needs to look at the damage. We are arranging this.',
        WAITING_FOR_SURVEYOR: 'We are looking for a free inspector for you.', SURVEYOR_ASSIGNED: 'An inspector has been assigned to your claim.',
        SURVEY_COMPLETED: 'The inspection is done. We are reviewing the result.', APPROVED: 'Your claim has been approved.',
        REJECTED: 'We are sorry: your claim was not approved.', CLOSED: 'Your claim is closed.',
        NEEDS_ATTENTION: 'Your claim is being looked at by our team.'
      },
      status_unknown: 'Your claim is being handled.',
      next: {
        wait_for_review: 'Nothing to do for now. We will review your claim and update this page; you can come back at any time.',
        wait_for_surveyor: 'We are arranging an inspector to look at the damage and will update this page. Please keep your phone on.',
        surveyor_will_call: 'The inspector will call you to agree a time to see the damage. Please look out for the call.',
        decision_made: 'We have made a decision (see above). If you have questions, contact customer service and quote your claim reference.',
        payment_on_the_way: 'Your payment is on its way.',
        closed: 'This claim is finished. There is nothing more you need to do.',
        in_progress: 'We are working on your claim and will update this page as it moves on.'
      },
      next_unknown: 'If you have questions, contact customer service and quote your claim reference.',
      kinds: {
        'claim.received': 'We received your claim', 'claim.reported': 'We received your claim', 'claim.policy_resolved': 'We matched your policy',
        'claim.scored': 'First check done', 'claim.survey_needed': 'An inspector needs to see the damage', 'claim.waiting_for_surveyor': 'Waiting for a free inspector',
        'claim.surveyor_assigned': 'Inspector assigned', 'claim.attachment_added': 'We received a photo'
      },
      routed: {IN_REVIEW: 'Passed to a claims handler', AWAITING_SURVEYOR: 'An inspector needs to see the damage'},
      short: {
        RECEIVED: 'Claim received', SCORED: 'First check done', AWAITING_PHOTOS: 'Waiting for photos', IN_REVIEW: 'Being reviewed', AWAITING_SURVEYOR: 'Arranging an inspection',
        WAITING_FOR_SURVEYOR: 'Waiting for an inspector', SURVEYOR_ASSIGNED: 'Inspector assigned', SURVEY_COMPLETED: 'Inspection done',
        APPROVED: 'Claim approved', REJECTED: 'Claim not approved', CLOSED: 'Claim closed',
        NEEDS_ATTENTION: 'Being looked at by our team'
      },
      update: 'Progress update',
      e_none: 'Please choose the photos to upload first.',
      e_count: 'You can upload up to {max_photos} photos at a time, so “{name}” was not added.',
      up_failed: 'Photo {i} ({name}) could not be uploaded. Please add it again and retry.',
      up_size: 'Photo {i} ({name}) is too large and was not uploaded. Each photo must be {max_mb} MB or less.',
      up_type: 'Photo {i} ({name}) is not a supported type and was not uploaded. Please choose a JPG, PNG or HEIC photo.',
      up_expired: 'This link has expired, so photos cannot be added. Please contact customer service.',
      up_rate: 'Too many uploads. Please try again later.',
      carried: 'Photo {i} ({name}) could not be uploaded when you sent your claim. Please add it again below.'
    }
  };
  const NATO = {A: 'Alfa', B: 'Bravo', C: 'Charlie', D: 'Delta', E: 'Echo', F: 'Foxtrot', G: 'Golf', H: 'Hotel', I: 'India', J: 'Juliett',
    K: 'Kilo', L: 'Lima', M: 'Mike', N: 'November', O: 'Oscar', P: 'Papa', Q: 'Quebec', R: 'Romeo', S: 'Sierra', T: 'Tango',
    U: 'Uniform', V: 'Victor', W: 'Whiskey', X: 'X-ray', Y: 'Yankee', Z: 'Zulu'};
  const EN_DIGITS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'];
  const ZH_DIGITS = ['零', '一', '二', '三', '四', '五', '六', '七', '八', '九'];

  const {t, from} = site.texts(T);

  // The claim and its token, from the server (empty when the link did not hold).
  const CLAIM_ID = String(data.claim_id || ''), TOKEN = String(data.token || '');
  const STATUS_URL = `${root}v1/public/claims/${encodeURIComponent(CLAIM_ID)}?t=${encodeURIComponent(TOKEN)}`;

  const state = {data: null, shownStatus: null, errors: [], busy: false, conn: null, upload: null, copied: false};

  // ---- helpers ----
  function parseIso(s) {
    if (!s) return null;
    let v = String(s).replace(/(\.\d{3})\d+/, '$1');
    if (/T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(v)) v += 'Z';
    const d = new Date(v);
    return isNaN(d.getTime()) ? null : d;
  }
  function fmtTime(s) {
    const d = parseIso(s);
    if (!d) return '';
    const o = {year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23'};
    try { return new Intl.DateTimeFormat(page.lang, Object.assign({timeZone: 'Asia/Shanghai'}, o)).format(d); } catch (e) {
      return new Intl.DateTimeFormat(page.lang, o).format(d);
    }
  }
  function spell(ref) {
    const parts = [];
    for (const c of ref) {
      if (/[0-9]/.test(c)) parts.push(page.lang === 'en' ? EN_DIGITS[+c] : ZH_DIGITS[+c]);
      else if (/[A-Z]/.test(c)) parts.push(page.lang === 'en' ? `${c} as in ${NATO[c]}` : t('letter', {c}));
      else if (/[a-z]/.test(c)) parts.push(t('lower', {c: page.lang === 'en' ? `${c} as in ${NATO[c.toUpperCase()]}` : c}));
      else if (c === '-') parts.push(t('dash'));
      else if (c.trim()) parts.push(c);
    }
    return t('spelled', {s: parts.join(page.lang === 'en' ? ', ' : '、')});
  }

  // ---- errors ----
  const setErrors = site.errorKeeper(state, () => renderErrors(), () => state.errors[0]);
  function renderErrors() {
    const box = $('errors'), fe = $('photos-error');
    box.textContent = ''; fe.textContent = ''; fe.hidden = true;
    $('photos').removeAttribute('aria-invalid');
    if (!state.errors.length) return;
    const ul = document.createElement('ul');
    for (const e of state.errors) {
      const li = document.createElement('li');
      li.textContent = t(e.key, e.p);
      ul.appendChild(li);
      if (e.field === 'photos') {
        fe.textContent = (fe.textContent ? fe.textContent + ' ' : '') + t(e.key, e.p);
        fe.hidden = false;
        $('photos').setAttribute('aria-invalid', 'true');
      }
    }
    box.appendChild(ul);
  }
  function setConn(key) { state.conn = key; $('conn').textContent = key ? t(key) : ''; }

  // ---- rendering ----
  function stageOf(status) {
    if (status === 'RECEIVED') return 'received';
    if (status === 'SCORED' || status === 'IN_REVIEW') return 'review';
    if (SURVEY.includes(status)) return 'survey';
    if (status === 'APPROVED' || status === 'REJECTED') return 'decision';
    if (status === 'CLOSED') return 'done';
    return 'review';
  }
  function render() {
    const d = state.data;
    if (!d) return;
    $('loading').hidden = true;
    $('invalid').hidden = true;
    $('content').hidden = false;

    const ref = String(d.reference || '');
    const refEl = $('reference');
    refEl.textContent = '';
    for (let i = 0; i < ref.length; i += 4) {
      const s = document.createElement('span');
      s.textContent = ref.slice(i, i + 4);
      refEl.appendChild(s);
    }
    $('reference-spelled').textContent = ref ? spell(ref) : '';
    $('copy-ref').hidden = !(navigator.clipboard && window.isSecureContext && ref);
    $('copy-done').textContent = state.copied ? t('copied') : '';

    const st = $('status');
    const changed = state.shownStatus !== null && state.shownStatus !== d.status;
    st.dataset.status = d.status || '';
    st.textContent = from('status', d.status) || t('status_unknown');
    if (changed) { st.classList.add('changed'); setTimeout(() => st.classList.remove('changed'), 2500); }
    state.shownStatus = d.status;
    // The reason of a decision, or when a surveyor is expected: the server's words, in both languages.
    const told = (d.outcome && d.outcome.message) || (d.survey && d.survey.message) || null;
    const out = $('outcome');
    out.textContent = told ? (told[page.lang] || told['zh-CN'] || '') : '';
    out.hidden = !out.textContent;

    const timeline = Array.isArray(d.timeline) ? d.timeline : [];
    const survey = SURVEY.includes(d.status) || ['wait_for_surveyor', 'surveyor_will_call'].includes(d.next_step) ||
      timeline.some((e) => SURVEY.includes(e.status) || e.kind === 'claim.surveyor_assigned' || e.kind === 'claim.survey_needed');
    const stages = ['received', 'review'].concat(survey ? ['survey'] : [], ['decision', 'done']);
    const cur = stages.indexOf(stageOf(d.status));
    const steps = $('steps');
    steps.textContent = '';
    stages.forEach((s, i) => {
      const li = document.createElement('li');
      li.textContent = from('steps', s);
      const vh = document.createElement('span');
      vh.className = 'vh';
      if (i < cur || (i === cur && s === 'done')) { li.className = 'done'; vh.textContent = t('step_done'); }
      if (i === cur) { li.className += ' current'; li.setAttribute('aria-current', 'step'); if (s !== 'done') vh.textContent = t('step_current'); }
      li.appendChild(vh);
      steps.appendChild(li);
    });

    $('next-step').textContent = from('next', d.next_step) || t('next_unknown');
    const ra = $('received-at');
    ra.dateTime = d.received_at || ''; ra.textContent = fmtTime(d.received_at);
    $('attachments-count').textContent = String(Number(d.attachments) || 0);
    $('add-photos').hidden = d.status === 'CLOSED';

    const ol = $('timeline');
    ol.textContent = '';
    for (const e of timeline) {
      const li = document.createElement('li');
      const tm = document.createElement('time');
      tm.dateTime = e.at || ''; tm.textContent = fmtTime(e.at);
      const txt = (e.kind === 'claim.routed' && from('routed', e.status)) || from('kinds', e.kind) || from('short', e.status) || t('update');
      li.append(tm, document.createTextNode(txt));
      li.dataset.kind = e.kind || '';
      ol.appendChild(li);
    }
  }
  function showInvalid() {
    $('loading').hidden = true;
    $('content').hidden = true;
    $('invalid').hidden = false;
    setConn(null);
  }

  // ---- polling ----
  let timer = 0, inflight = false, stopped = false;
  function schedule(ms) { clearTimeout(timer); if (!stopped) timer = setTimeout(() => load(false), ms); }
  async function load(first) {
    if (stopped || inflight) return;
    if (!first && document.hidden) return; // resumed when the page is visible again
    inflight = true;
    let next = 15000;
    try {
      const res = await fetch(STATUS_URL, {cache: 'no-store', credentials: 'same-origin', referrerPolicy: 'no-referrer', headers: {Accept: 'application/json'}});
      if (res.status === 200) {
        const d = await res.json();
        setConn(null);
        if (JSON.stringify(d) !== JSON.stringify(state.data)) { state.data = d; render(); }
        next = FAST.includes(d.status) ? 3000 : 15000;
        if (d.status === 'CLOSED') stopped = true;
      } else if (res.status === 404 || res.status === 401 || res.status === 403) {
        stopped = true; showInvalid();
      } else if (res.status === 429) {
        next = (site.retryAfterSeconds(res) || 60) * 1000; setConn('conn_wait');
      } else setConn('conn_retry');
    } catch (e) {
      setConn('conn_retry');
    } finally {
      inflight = false;
      schedule(next);
    }
  }
  document.addEventListener('visibilitychange', () => { if (!document.hidden && !stopped) schedule(0); });

  // ---- photos ----
  const picker = site.photoPicker({
    t, max: site.limits.photos_at_once, busy: () => state.busy, onPicked: (errs) => setErrors(errs, false), onRemoved: () => {}
  });
  function setUpload(key, p) { state.upload = key ? {key, p} : null; $('upload-progress').textContent = key ? t(key, p) : ''; }
  $('upload').addEventListener('click', async () => {
    if (state.busy) return;
    if (!picker.photos.length) { setErrors([{field: 'photos', key: 'e_none'}]); return; }
    state.busy = true;
    const btn = $('upload');
    site.setButton(btn, {key: 'b_uploading', text: t('b_uploading')}, true);
    setErrors([], false);
    const photos = picker.photos.slice(), failed = [], errs = [];
    let done = 0;
    try {
      for (let i = 0; i < photos.length; i++) {
        setUpload('uploading', {i: i + 1, n: photos.length});
        const why = await site.uploadPhoto(CLAIM_ID, TOKEN, photos[i]);
        if (why) { failed.push(photos[i]); errs.push({field: 'photos', key: why, p: {i: i + 1, name: photos[i].file.name}}); } else {
          done++;
          if (photos[i].url) URL.revokeObjectURL(photos[i].url);
        }
        if (why === 'up_expired') { failed.push(...photos.slice(i + 1)); break; }
      }
    } finally {
      picker.photos = failed;
      picker.render();
      state.busy = false;
      site.setButton(btn, {key: 'b_upload', text: t('b_upload')}, false);
      if (done) setUpload('uploaded', {n: done}); else setUpload(null);
      if (errs.length) setErrors(errs);
      if (done) { stopped = false; schedule(1500); }
    }
  });
  $('copy-ref').addEventListener('click', async () => {
    try {
      await navigator.clipboard.writeText(String((state.data && state.data.reference) || ''));
      state.copied = true; $('copy-done').textContent = t('copied');
    } catch (e) { /* clipboard refused */ }
  });

  // ---- language ----
  function applyLang() {
    site.applyTexts(t);
    $('new-claim').href = root + '?lang=' + encodeURIComponent(page.lang);
    const shown = state.shownStatus;
    render();
    state.shownStatus = shown;
    renderErrors(); picker.render();
    if (state.conn) setConn(state.conn);
    if (state.upload) setUpload(state.upload.key, state.upload.p);
  }
  site.onLanguageSwitch(applyLang);

  // ---- start ----
  applyLang();
  if (!CLAIM_ID || !TOKEN) { stopped = true; showInvalid(); return; }
  try {
    const key = 'claim-photo-failures:' + CLAIM_ID, raw = sessionStorage.getItem(key);
    if (raw) {
      sessionStorage.removeItem(key);
      const list = JSON.parse(raw);
      if (Array.isArray(list) && list.length) setErrors(list.map((p) => ({key: 'carried', p: {i: p.i, name: p.name}})), false);
    }
  } catch (e) { /* storage off */ }
  load(true);
})();
