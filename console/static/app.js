import { renderJob } from './job.js';
import { renderList } from './list.js';

// The console's router: #/ is the jobs list (its filters in the hash query), #/jobs/<name> a job.
// A view returns a cleanup that closes its live streams when the page moves on.

const main = document.getElementById('main');
let cleanup = () => undefined;

function route() {
  cleanup();
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = hash.split('?');
  main.replaceChildren();
  const job = /^\/jobs\/([^/]+)$/.exec(path);
  cleanup = job ? renderJob(main, decodeURIComponent(job[1])) : renderList(main, new URLSearchParams(query));
  main.focus({ preventScroll: true });
}

window.addEventListener('hashchange', route);
route();
