// Pages of the grid: a phone shows six tiles at a time (two columns, three rows), a desktop up
// to sixteen (4x4), with previous and next buttons when there are more. Only the current
// page's tiles are shown, so only their video is asked for (last_n.js); every tile's sound
// plays whichever page is shown.
import { $ } from '../lib/dom.js';

const PHONE = window.matchMedia('(max-width: 700px)');
const PHONE_PAGE = 6;
const DESKTOP_PAGE = 16;
let page = 0;

export function pageSize() {
  return PHONE.matches ? PHONE_PAGE : DESKTOP_PAGE;
}

/** Shows the current page's tiles (in display order) and the pager when there are pages. */
export function applyPaging() {
  const tiles = [...$('grid').querySelectorAll('.tile')];
  const size = pageSize();
  const pages = Math.max(1, Math.ceil(tiles.length / size));
  page = Math.min(page, pages - 1);
  tiles.forEach((tile, i) => {
    tile.hidden = Math.floor(i / size) !== page;
  });
  $('pager').hidden = pages < 2;
  $('page-prev').disabled = page === 0;
  $('page-next').disabled = page === pages - 1;
  $('page-status').textContent = `Page ${page + 1} of ${pages}`;
}

/** `changed` runs after the page or the page size changed (lay out, report the view). */
export function wirePaging(changed) {
  const go = (step) => {
    page += step;
    applyPaging();
    changed();
  };
  $('page-prev').addEventListener('click', () => go(-1));
  $('page-next').addEventListener('click', () => go(1));
  PHONE.addEventListener('change', () => go(0));
}
