/* Ruhr-Bildungsassistent: a compact chat for an initiative's own website, talking to the JSON API.
 *
 *   <div id="ruhr-assistent"></div>
 *   <script src="https://assistent.example.de/api/widget.js" data-ziel="ruhr-assistent" defer></script>
 *
 * The website's address must be listed in the assistant's setting api_origins (CORS). Everything
 * from the API (answers, titles, passages) is put into the page as text (textContent), never as
 * HTML, so a document cannot run code on the website. Styles live in a shadow root and neither
 * leak into the website nor take its styles.
 */
(() => {
  'use strict';
  const script = document.currentScript;
  if (!script) return;
  const api = script.src.replace(/\/widget\.js(\?.*)?$/, '');
  const host = document.getElementById(script.dataset.ziel || '') || script.parentNode.insertBefore(
    document.createElement('div'), script.nextSibling);
  const title = script.dataset.titel || 'Fragen an die Bildungsinitiativen im Ruhrgebiet';
  const unreachable = 'Der Assistent ist von dieser Seite aus gerade nicht erreichbar. Bitte später erneut versuchen.';
  const history = [];  // earlier turns, so that a follow-up ("Und ihre E-Mail?") knows whom it means
  let asked = 0;

  const root = host.attachShadow({mode: 'open'});
  const style = document.createElement('style');
  style.textContent = `
    :host { display: block; max-width: 40rem; font: 1rem/1.5 system-ui, sans-serif; color: #1f2937; }
    section { border: 1px solid #6b7280; border-radius: 8px; padding: 0.8rem 1rem; background: #fff; }
    h2 { font-size: 1.1rem; margin: 0 0 0.6rem; }
    label { display: block; font-weight: 600; margin-bottom: 0.2rem; }
    .zeile { display: flex; gap: 0.5rem; flex-wrap: wrap; }
    input { flex: 1 1 12rem; min-width: 0; font: inherit; padding: 0.4rem 0.5rem; border: 1px solid #4b5563;
            border-radius: 6px; color: #1f2937; background: #fff; }
    button { font: inherit; cursor: pointer; }
    .fragen { padding: 0.4rem 1rem; border: 0; border-radius: 6px; background: #1d4ed8; color: #fff; }
    .fragen[disabled] { background: #4b5563; }
    .nummer { border: 0; background: none; padding: 0 0.1rem; color: #1d4ed8; text-decoration: underline; }
    :focus-visible { outline: 3px solid #1d4ed8; outline-offset: 2px; }
    .frage { font-weight: 600; margin: 0.8rem 0 0.2rem; }
    .antwort p { margin: 0.2rem 0; }
    ol { padding-left: 1.4rem; margin: 0.4rem 0; }
    summary { cursor: pointer; }
    .meta { color: #4b5563; font-size: 0.9em; }
    blockquote { white-space: pre-wrap; margin: 0.3rem 0; padding-left: 0.6rem; border-left: 3px solid #6b7280; }
    .fehler { color: #991b1b; font-weight: 600; }
  `;
  const section = element('section', {'aria-label': title});
  const heading = element('h2', {}, title);
  const form = element('form');
  const inputId = 'frage';
  const label = element('label', {for: inputId}, 'Ihre Frage');
  const input = element('input', {id: inputId, type: 'text', maxlength: '500', autocomplete: 'off',
                                   placeholder: 'z. B. Wer ist für Potenzialförderung zuständig?'});
  const submit = element('button', {type: 'submit', class: 'fragen'}, 'Fragen');
  const row = element('div', {class: 'zeile'});
  row.append(input, submit);
  form.append(label, row);
  const conversation = element('div', {role: 'log', 'aria-live': 'polite', 'aria-label': 'Gespräch'});
  const problem = element('p', {role: 'alert', class: 'fehler'});
  section.append(heading, form, problem, conversation);
  root.append(style, section);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const question = input.value.trim();
    if (!question) return;
    submit.disabled = true;
    problem.textContent = '';
    try {
      const response = await fetch(`${api}/ask`, {
        method: 'POST', headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({question, history: history.slice(-20)}),
      });
      const body = await response.json().catch(() => null);
      if (!response.ok || !body) {
        problem.textContent = (body && typeof body.message === 'string') ? body.message : unreachable;
        return;
      }
      show(question, body);
      history.push({question, answer: String(body.answer || '')});
      input.value = '';
    } catch (error) {  // network failure, or the website is not allowed (CORS)
      problem.textContent = unreachable;
    } finally {
      submit.disabled = false;
    }
  });

  function show(question, body) {
    asked += 1;
    const turn = element('div', {class: 'runde'});
    turn.append(element('p', {class: 'frage'}, question));
    const citations = Array.isArray(body.citations) ? body.citations : [];
    const sources = new Map();
    const list = element('ol', {'aria-label': 'Quellen'});
    for (const citation of citations) {
      const n = Number(citation.n);
      const where = [citation.date, citation.page ? `S. ${citation.page}${citation.ocr ? ' (Texterkennung)' : ''}` : '']
        .filter(Boolean).join(' · ');
      const details = element('details', {id: `quelle-${asked}-${n}`});
      const summary = element('summary', {}, `[${n}] ${citation.title || citation.document || ''}`);
      if (where) summary.append(' ', element('span', {class: 'meta'}, `(${where})`));
      details.append(summary, element('blockquote', {}, String(citation.text || '')));
      sources.set(n, {details, summary, title: citation.title || citation.document || ''});
      list.append(element('li', {value: String(n)}, details));
    }
    const answer = element('div', {class: 'antwort'});
    for (const line of String(body.answer || '').split('\n')) {
      const paragraph = element('p');
      for (const piece of line.split(/(\[\d+\])/)) {
        const number = /^\[(\d+)\]$/.exec(piece);
        const source = number && sources.get(Number(number[1]));
        if (!source) {
          paragraph.append(piece);
          continue;
        }
        const button = element('button', {type: 'button', class: 'nummer', 'aria-controls': source.details.id,
                                          'aria-label': `Quelle ${number[1]}: ${source.title}`}, piece);
        button.addEventListener('click', () => {
          source.details.open = true;
          source.summary.focus();
        });
        paragraph.append(button);
      }
      answer.append(paragraph);
    }
    turn.append(answer);
    if (citations.length) turn.append(list);
    conversation.append(turn);
  }

  function element(tag, attributes = {}, content) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (typeof content === 'string') node.textContent = content;
    else if (content) node.append(content);
    return node;
  }
})();
