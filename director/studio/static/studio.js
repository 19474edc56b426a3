// director studio: every action is a JSON POST to the same library the CLI uses; the board re-renders on the server.
(function () {
  const csrf = document.querySelector('meta[name=csrf]').content;
  const main = document.querySelector('main');
  const episode = main && main.dataset.episode;
  const progress = document.getElementById('progress');
  const log = document.getElementById('log');
  // the studio's words in the editor's language (sent with a Chinese page; English is the words themselves)
  const wordsTag = document.getElementById('ui-words');
  const WORDS = wordsTag ? JSON.parse(wordsTag.textContent) : {};
  const t = (text) => WORDS[text] || text;

  async function post(url, body) {
    let r;
    try {
      r = await fetch(url, {method: 'POST', headers: {'Content-Type': 'application/json', 'X-CSRF-Token': csrf},
                            body: JSON.stringify(body || {})});
    } catch (e) {  // the server is gone (stopped, restarted on another port)
      throw {error: t('cannot reach the studio: is `director studio` still running?')};
    }
    const data = await r.json().catch(() => ({}));
    if (!r.ok) throw (data.error || data.problems) ? data : {error: `${t('the studio answered HTTP')} ${r.status}`};
    return data;
  }
  function problems(err) {
    const said = (err && (err.problems || [err.error])) || [];
    return said.filter(Boolean).join('\n') || String(err || t('failed'));
  }
  // Re-render the cards from the server, card by card: a card being typed in is left as it is, and the
  // selection and open prompts survive (a render's progress refreshes the board often).
  async function refreshCards(acted) {
    const grid = document.getElementById('cards');
    if (!grid) return;
    const r = await fetch(`/e/${encodeURIComponent(episode)}/cards`);
    if (!r.ok) {  // a hand edit broke the screenplay or shot list: said on the page (the board kept saying "cached")
      const data = await r.json().catch(() => ({}));
      broken(problems(data));
      return;
    }
    broken('');
    const holder = document.createElement('div');
    holder.innerHTML = await r.text();
    const focus = document.activeElement;  // a field being typed in (not a button just clicked)
    // the control in focus, found again in its card's new copy: a keyboard user lost focus to <body> on every save
    const focusCard = focus && focus.closest && focus.closest('.card');
    const focusKey = focusCard && (focus.dataset.field ? `[data-field="${focus.dataset.field}"]` :
      ['lock', 'regen', 'save-prompt', 'sel', 'seed'].map((c) => focus.classList.contains(c) ? '.' + c : null).find(Boolean) ||
      (focus.classList.contains('take') ? `.take[data-take="${focus.dataset.take}"]` : null));
    const active = focus && (focus.isContentEditable || ['INPUT', 'TEXTAREA'].includes(focus.tagName) &&
                             focus.type !== 'checkbox') ? focus : null;
    const picked = new Set([...grid.querySelectorAll('.sel:checked')].map((c) => c.closest('.card').dataset.shot));
    const open = new Set([...grid.querySelectorAll('details[open]')].map((d) => d.closest('.card').dataset.shot));
    const notes = holder.querySelector('#notes'), shownNotes = document.getElementById('notes');
    if (notes) { if (shownNotes) shownNotes.replaceWith(notes); else notes.remove(); }
    const planButton = document.getElementById('plan-episode');
    if (planButton) planButton.disabled = working;
    const fresh = [...holder.children].filter((c) => c.classList.contains('card'));
    const keep = new Set(fresh.map((c) => c.id));
    [...grid.children].forEach((c) => { if (!keep.has(c.id)) c.remove(); });
    fresh.forEach((card, i) => {
      const old = document.getElementById(card.id);
      if (old && active && old.contains(active) && old !== acted) return;
      if (picked.has(card.dataset.shot)) card.querySelector('.sel').checked = true;
      const said = shown[card.dataset.shot];  // an error or a warning stays until the card's next edit
      if (said) {
        const box = card.querySelector('.errors');
        box.classList.toggle('warn', said.warn);
        box.textContent = said.text;
      }
      if (open.has(card.dataset.shot)) card.querySelector('details').open = true;
      if (old) old.replaceWith(card); else grid.insertBefore(card, grid.children[i] || null);
      wireCard(card);
      if (old && old === focusCard && focusKey) {
        const again = card.querySelector(focusKey);
        if (again) again.focus({preventScroll: true});
      }
    });
  }
  function broken(text) {  // the files' own problems, above the cards until they are fixed
    const grid = document.getElementById('cards');
    let box = document.getElementById('broken');
    if (!text) { if (box) box.remove(); return; }
    if (!box) {
      box = document.createElement('pre');
      box.id = 'broken';
      box.className = 'note bad';
      box.setAttribute('role', 'alert');
      grid.parentNode.insertBefore(box, grid);
    }
    box.textContent = text;
  }
  const shown = {};  // shot -> what its last edit said (an error, or the server's warnings), kept through refreshes
  function tell(card, text, warn) {
    shown[card.dataset.shot] = {text, warn};
    const box = (document.getElementById(card.id) || card).querySelector('.errors');
    box.classList.toggle('warn', warn);
    box.textContent = text;
  }
  async function act(card, fn, restore) {
    // the card on the page now: a refresh may have replaced the one this control was wired in (a select's save
    // waits 500 ms), and the old error stayed shown on the new copy until the next refresh
    const box = (document.getElementById(card.id) || card).querySelector('.errors');
    box.textContent = '';
    box.classList.remove('warn');
    delete shown[card.dataset.shot];
    let data;
    try { data = await fn(); await refreshCards(card); } catch (err) {
      tell(card, problems(err), false);
      // a refused field shows the value the shot list still has (61 stayed in the duration box, as if saved)
      if (restore) await refreshCards(card).catch(() => {});
      return;
    }
    const warnings = (data && data.warnings) || [];
    if (warnings.length) tell(card, warnings.join('\n'), true);  // accepted, with something to know
  }
  const shotUrl = (card) => `/api/e/${encodeURIComponent(episode)}/shots/${encodeURIComponent(card.dataset.shot)}`;

  function wire(root) { root.querySelectorAll('.card').forEach(wireCard); }
  function wireCard(card) {
    {
      const media = card.querySelector('.media'), video = card.querySelector('video');
      if (video) {
        media.addEventListener('mouseenter', () => { media.classList.add('playing'); video.play().catch(() => {}); });
        media.addEventListener('mouseleave', () => { media.classList.remove('playing'); video.pause(); });
        // hovering plays the picture alone; a click (or Enter) plays it with its sound: the episode's mix from where
        // the clip starts in the episode, kept within a few frames of the picture (a board of cards spoke over
        // itself when every hover was heard, and a browser refuses sound before a click anyway)
        const src = video.dataset.sound, at = parseFloat(video.dataset.at || '0');
        let audio = null;
        const follow = () => {
          if (!audio || audio.paused) return;
          const want = at + video.currentTime;
          if (Math.abs(audio.currentTime - want) > 0.12) audio.currentTime = want;  // the loop back, a seek
        };
        const heard = () => {
          if (!src) return;
          if (!audio) {
            audio = document.createElement('audio');  // in the card: gone (and paused) with it on a refresh
            audio.src = src;
            audio.preload = 'auto';
            media.appendChild(audio);
            video.addEventListener('timeupdate', follow);
            video.addEventListener('seeking', follow);  // the loop back starts a seek: the sound goes with it
            video.addEventListener('seeked', follow);
            video.addEventListener('pause', () => audio.pause());
          }
          const go = () => { audio.currentTime = at + video.currentTime; audio.play().catch(() => {}); };
          // a clip not loaded yet (preload=none) starts later: the sound waits for its picture (it ran ahead, and
          // the first catch-up seek repeated the line's start)
          if (video.readyState < 3) video.addEventListener('playing', go, {once: true}); else go();
        };
        const toggle = () => {
          if (video.paused) { media.classList.add('playing'); video.play(); heard(); }
          else if (src && (!audio || audio.paused)) heard();  // playing from a hover: now with its sound
          else video.pause();
        };
        media.addEventListener('click', toggle);
        media.addEventListener('keydown', (e) => {  // a keyboard user plays a shot too
          if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); toggle(); }
        });
      }
      card.querySelector('.lock').addEventListener('click', () =>
        act(card, () => post(shotUrl(card) + '/lock', {locked: !card.classList.contains('locked')})));
      // each edit carries the value the card showed: a field another tab or a hand edit changed since is refused
      // (409, said on the card), not overwritten -- the last save silently won
      card.querySelectorAll('[data-field]').forEach((el) => {
        if (el.tagName === 'TEXTAREA') return;
        const shown = el.tagName === 'SELECT' ? (el.querySelector('option[selected]') || el).value : el.defaultValue;
        // a list walked with the arrow keys fires a change at every step: saved once it rests (each step was
        // written to the file, MCU -> MS -> WS, and the card redrawn under the keyboard)
        let resting = null;
        el.addEventListener('change', () => {
          clearTimeout(resting);
          resting = setTimeout(() => act(card, () => post(shotUrl(card), {[el.dataset.field]: el.value,
                                                                          was: {[el.dataset.field]: shown}}), true),
                               el.tagName === 'SELECT' ? 500 : 0);
        });
      });
      const save = card.querySelector('.save-prompt'), prompt = card.querySelector('textarea');
      save.addEventListener('click', () => act(card, () => post(shotUrl(card), {prompt: prompt.value,
                                                                                was: {prompt: prompt.defaultValue}})));
      // a seed typed beside the button is used (a take liked elsewhere, a seed from a note); empty: a new one
      card.querySelector('.regen').addEventListener('click', () => act(card, () => post(shotUrl(card) + '/regen',
        card.querySelector('.seed').value.trim() ? {seed: card.querySelector('.seed').value.trim()} : {})));
      card.querySelectorAll('.take').forEach((b) => b.addEventListener('click', () =>
        act(card, () => post(shotUrl(card) + '/takes/' + b.dataset.take))));
      card.querySelectorAll('li.line').forEach((li) => {
        const url = `/api/e/${encodeURIComponent(episode)}/lines/${li.dataset.ref}`;
        const text = li.querySelector('.text'), emotion = li.querySelector('.emotion');
        text.addEventListener('keydown', (e) => {
          // Enter that picks an input method's candidate (Chinese, Japanese) is the IME's, not a save
          if (e.isComposing || e.keyCode === 229) return;
          if (e.key === 'Enter') { e.preventDefault(); text.blur(); }
        });
        // the words as a reader sees them: a pasted break or a <br> is a space (textContent joined the words)
        const words = () => text.innerText.replace(/\s+/g, ' ').trim();
        let said = words();  // only a changed line is sent: a click in and out rewrote the file
        text.addEventListener('blur', () => {
          const now = words();
          if (now === said) return;
          const before = said;
          said = now;
          text.classList.remove('rejected');
          // refused (too long, empty...): the card says why and marks the words as not saved, and the next blur
          // sends them again; it showed them as if saved until the board's next refresh
          act(card, () => post(url, {text: now, was: before}).catch((err) => {
            said = before;
            if (err && err.conflict) { setTimeout(() => refreshCards(card), 0); throw err; }  // redrawn as saved
            // emptied and refused: the words come back (an empty line is a zero-width span nobody can click in)
            if (!now) { text.textContent = before; throw err; }
            text.classList.add('rejected');
            text.title = t('not saved: the screenplay still has') + ' "' + before + '"';
            throw err;
          }));
        });
        emotion.addEventListener('change', () => act(card, () => post(url, {emotion: emotion.value, was: said})));
      });
    }
  }
  if (document.getElementById('cards')) wire(document);

  document.querySelectorAll('.ref-lock').forEach((b) => b.addEventListener('click', async () => {
    const action = b.dataset.locked === '1' ? 'unlock' : 'lock';
    try {
      await post(`/api/refs/${encodeURIComponent(b.closest('.ref').dataset.ref)}/${action}`);
    } catch (e) { say(problems(e)); return; }
    location.reload();
  }));
  const pick = document.getElementById('episode');
  if (pick) pick.addEventListener('change', () => { location.href = `/e/${encodeURIComponent(pick.value)}`; });

  function say(text) { if (progress) progress.textContent = text; }
  // while a render runs its buttons rest (a second click was refused with a 409 that the progress hid at once)
  let working = false;
  function busy(on) {
    working = on;
    ['render-all', 'render-selected', 'plan-episode'].forEach((id) => { const b = document.getElementById(id); if (b) b.disabled = on; });
  }
  function note(line) { if (!log) return; log.classList.add('open'); log.textContent += line + '\n'; log.scrollTop = log.scrollHeight; }
  const renderAll = document.getElementById('render-all');
  if (renderAll) renderAll.addEventListener('click', () =>
    post(`/api/e/${encodeURIComponent(episode)}/render`, {}).then(() => say(t('starting…'))).catch((e) => say(problems(e))));
  const renderSel = document.getElementById('render-selected');
  if (renderSel) renderSel.addEventListener('click', () => {
    const shots = [...document.querySelectorAll('.card .sel:checked')].map((c) => c.closest('.card').dataset.shot);
    if (!shots.length) { say(t('select shots first')); return; }
    post(`/api/e/${encodeURIComponent(episode)}/render`, {shots}).then(() => say(t('starting…'))).catch((e) => say(problems(e)));
  });
  // "Plan the shots now" sits in the notes, which the cards' refresh replaces: wired once, on the page
  document.addEventListener('click', (e) => {
    if (!e.target.closest || !e.target.closest('#plan-episode')) return;
    post(`/api/e/${encodeURIComponent(episode)}/plan`, {}).then(() => say(t('planning…'))).catch((err) => say(problems(err)));
  });
  const cancel = document.getElementById('cancel');
  if (cancel) cancel.addEventListener('click', () => post('/api/render/cancel')
    .then((d) => say(!d.cancelled ? t('nothing to cancel') : ['running', 'waiting'].includes(d.state) ? t('cancelling…')
                     : t((d.task || 'render') + ' ' + d.state))).catch((e) => say(problems(e))));

  let pending = null;
  function soon() { if (!pending) pending = setTimeout(() => { pending = null; refreshCards(); }, 400); }
  if (window.EventSource && progress) {
    fetch('/api/render').then((r) => r.json()).then((d) => {
      // a render in progress is shown from its start; otherwise only what comes next (after a render every page
      // opened replayed its whole log and said "render done")
      const live = d.state === 'running' || d.state === 'waiting';
      const events = new EventSource('/api/events?after=' + (live ? 0 : (d.last_event || 0)));
      events.addEventListener('waiting', (e) => { const d = JSON.parse(e.data); say(`${t('waiting for')} pid ${d.pid}: ${d.command}`); });
      events.addEventListener('started', (e) => {
        const task = JSON.parse(e.data).task || 'render';
        say(task === 'plan' ? t('planning…') : t('rendering…')); note(t(task + ' started')); busy(true);
      });
      events.addEventListener('job-started', (e) => { const d = JSON.parse(e.data); say(`${d.stage} ${d.job}…`); soon(); });
      events.addEventListener('job', (e) => { const d = JSON.parse(e.data); say(`${d.stage} ${d.n}/${d.total}`); note(d.line); soon(); });
      events.addEventListener('job-failed', (e) => { note(JSON.parse(e.data).line); soon(); });
      events.addEventListener('log', (e) => note(JSON.parse(e.data).line));
      events.addEventListener('finished', (e) => {
        const d = JSON.parse(e.data);
        say(t((d.task || 'render') + ' ' + d.state)); soon(); changed(); busy(false);
      });
      busy(live);
      if (!live) say(d.lock ? `${t('a render is running:')} pid ${d.lock.pid}, director ${d.lock.command || ''}` : '');
    });
  }

  // what the page shows, redrawn when something outside it changed it: a hand edit of the YAML, a render in the
  // terminal, another tab (the page kept the old line and "cached" until reloaded, and a second tab saved over
  // the first one's line). The board redraws its cards (a card being typed in is left alone); the player reloads
  // unless it is playing.
  let stamp = null;
  async function changed() {
    if (!episode || document.visibilityState !== 'visible') return;
    const r = await fetch(`/api/e/${encodeURIComponent(episode)}/stamp`).catch(() => null);
    if (!r || !r.ok) return;
    const now = (await r.json()).stamp;
    if (stamp !== null && now !== stamp) {
      const video = document.getElementById('episode-video');
      if (document.getElementById('cards')) refreshCards();
      else if (video && video.paused) location.reload();
      else if (!video && document.querySelector('main.player')) location.reload();
    }
    stamp = now;
  }
  if (episode) { changed(); setInterval(changed, 2500); }

  // the player: the strip seeks; the shot under the playhead is outlined
  const player = document.getElementById('episode-video');
  if (player) {
    const segs = [...document.querySelectorAll('.seg')];
    segs.forEach((s) => s.addEventListener('click', () => { player.currentTime = parseFloat(s.dataset.start) + 0.01; }));
    player.addEventListener('timeupdate', () => {
      let now = null;
      segs.forEach((s) => { if (parseFloat(s.dataset.start) <= player.currentTime) now = s; });
      segs.forEach((s) => s.classList.toggle('now', s === now));
    });
  }
})();
