// @ts-check
// The mixture editor: a custom 2-D Gaussian mixture as a list of components (weight, mean,
// covariance) with add and remove, and its means as handles on the main view that can be
// dragged (or moved with the arrow keys). Every edit starts a run on the new mixture through
// the page's usual path, so the core's checks (positive weights, positive-definite
// covariances, …) are named at the editor and the running run is kept when one fails. The
// result is the same {"gmm": …} JSON the text box and the URL hash hold. Components are
// numbered from 0, as the core's messages number them.

/** Inputs of one component, in their order. */
const COLUMNS = [
  { key: "w", label: "weight" },
  { key: "mx", label: "mean x" },
  { key: "my", label: "mean y" },
  { key: "sxx", label: "cov xx" },
  { key: "sxy", label: "cov xy" },
  { key: "syy", label: "cov yy" },
];

/** Whether `energy` is a 2-D Gaussian mixture the editor can show. */
export function isMixture2d(energy) {
  const g = energy && typeof energy === "object" ? energy.gmm : null;
  return (
    g != null &&
    Array.isArray(g.weights) &&
    Array.isArray(g.means) &&
    Array.isArray(g.covs) &&
    g.means.every((m) => Array.isArray(m) && m.length === 2) &&
    g.covs.every((c) => Array.isArray(c) && c.length === 2 && c.every((r) => Array.isArray(r) && r.length === 2))
  );
}

/** The table's rows (one object of COLUMNS' keys per component) of a 2-D mixture. */
export function mixtureRows(energy) {
  const g = energy.gmm;
  return g.weights.map((w, k) => ({ w, mx: g.means[k][0], my: g.means[k][1], sxx: g.covs[k][0][0], sxy: g.covs[k][0][1], syy: g.covs[k][1][1] }));
}

/**
 * The mixture of table rows; a cell that is not a number is named.
 * @returns {{ ok: boolean, energy?: object, message?: string }}
 */
export function rowsToMixture(rows) {
  if (rows.length === 0) return { ok: false, message: "the mixture needs at least one component" };
  for (let k = 0; k < rows.length; k++) {
    for (const { key, label } of COLUMNS) {
      if (!Number.isFinite(rows[k][key])) return { ok: false, message: `component ${k}: ${label} must be a number` };
    }
  }
  return {
    ok: true,
    energy: {
      gmm: {
        weights: rows.map((r) => r.w),
        means: rows.map((r) => [r.mx, r.my]),
        covs: rows.map((r) => [
          [r.sxx, r.sxy],
          [r.sxy, r.syy],
        ]),
      },
    },
  };
}

/** A component for "Add": unit covariance at the window's centre, the mean weight. */
export function newComponent(rows, plotWindow) {
  const [xlo, xhi, ylo, yhi] = plotWindow;
  const w = rows.length > 0 ? rows.reduce((s, r) => s + r.w, 0) / rows.length : 1;
  return { w: Number(w.toPrecision(3)), mx: Number(((xlo + xhi) / 2).toFixed(2)), my: Number(((ylo + yhi) / 2).toFixed(2)), sxx: 1, sxy: 0, syy: 1 };
}

export class MixtureEditor {
  /**
   * @param {{ root: HTMLElement, errorEl: HTMLElement, plotEl: HTMLElement,
   *           apply: (energy: object) => boolean }} options
   *   `root` gets the table; `plotEl` (the main view's box) the mean handles; `apply`
   *   starts a run on a mixture and names a rejection at `errorEl`, returning whether it ran.
   */
  constructor({ root, errorEl, plotEl, apply }) {
    this.root = root;
    this.errorEl = errorEl;
    this.plotEl = plotEl;
    this.applyHook = apply;
    this.rows = [];
    this.window = [0, 1, 0, 1];
    this.handles = [];
    root.classList.add("mixture-editor");
    this.list = document.createElement("div");
    this.list.className = "mixture-list";
    this.addButton = document.createElement("button");
    this.addButton.type = "button";
    this.addButton.textContent = "Add component";
    this.addButton.addEventListener("click", () => {
      this.rows.push(newComponent(this.rows, this.window));
      this.commit();
    });
    const hint = document.createElement("p");
    hint.className = "desc";
    hint.textContent = "Drag a mean (the numbered handles on the plot), or focus one and use the arrow keys.";
    root.append(this.list, this.addButton, hint);
  }

  /** Shows the running mixture (2-D only) and its handles; anything else hides both. */
  sync(energy, plotWindow) {
    const show = isMixture2d(energy);
    this.root.hidden = !show;
    if (!show) {
      this.clearHandles();
      return;
    }
    this.rows = mixtureRows(energy);
    this.window = plotWindow;
    this.render();
  }

  /** Removes the handles (the target is no longer a 2-D mixture). */
  hide() {
    this.root.hidden = true;
    this.clearHandles();
  }

  clearHandles() {
    for (const h of this.handles) h.remove();
    this.handles = [];
  }

  render() {
    this.list.replaceChildren();
    this.rows.forEach((row, k) => {
      const box = document.createElement("div");
      box.className = "mixture-component";
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", `Component ${k}`);
      const head = document.createElement("div");
      head.className = "mixture-head";
      const legend = document.createElement("span");
      legend.textContent = `Component ${k}`;
      const remove = document.createElement("button");
      remove.type = "button";
      remove.className = "mixture-remove";
      remove.textContent = "Remove";
      remove.setAttribute("aria-label", `Remove component ${k}`);
      remove.disabled = this.rows.length === 1;
      remove.addEventListener("click", () => {
        this.rows.splice(k, 1);
        this.commit();
      });
      const grid = document.createElement("div");
      grid.className = "mixture-grid";
      for (const { key, label } of COLUMNS) {
        const field = document.createElement("label");
        const name = document.createElement("span");
        name.textContent = label;
        const input = document.createElement("input");
        input.type = "number";
        input.step = "any";
        input.inputMode = "decimal";
        input.value = String(row[key]);
        input.setAttribute("aria-label", `component ${k} ${label}`);
        input.dataset.component = String(k);
        input.dataset.key = key;
        input.addEventListener("change", () => {
          row[key] = input.value.trim() === "" ? NaN : Number(input.value);
          this.commit();
        });
        field.append(name, input);
        grid.append(field);
      }
      head.append(legend, remove);
      box.append(head, grid);
      this.list.append(box);
    });
    this.renderHandles();
  }

  renderHandles() {
    this.clearHandles();
    const [xlo, xhi, ylo, yhi] = this.window;
    this.rows.forEach((row, k) => {
      const h = document.createElement("button");
      h.type = "button";
      h.className = "mean-handle";
      h.textContent = String(k);
      h.setAttribute("aria-label", `Mean of component ${k}: x ${row.mx}, y ${row.my}. Drag, or use the arrow keys`);
      const place = (x, y) => {
        h.style.left = `${(100 * (x - xlo)) / (xhi - xlo)}%`;
        h.style.top = `${100 - (100 * (y - ylo)) / (yhi - ylo)}%`;
      };
      place(row.mx, row.my);
      h.addEventListener("pointerdown", (e) => {
        e.preventDefault();
        h.setPointerCapture(e.pointerId);
        h.classList.add("dragging");
        const box = this.plotEl.getBoundingClientRect();
        const at = (ev) => {
          const x = xlo + ((ev.clientX - box.left) / box.width) * (xhi - xlo);
          const y = yhi - ((ev.clientY - box.top) / box.height) * (yhi - ylo);
          return [round(Math.min(xhi, Math.max(xlo, x))), round(Math.min(yhi, Math.max(ylo, y)))];
        };
        let moved = null;
        const move = (ev) => {
          moved = at(ev);
          place(moved[0], moved[1]);
        };
        const up = () => {
          h.removeEventListener("pointermove", move);
          h.removeEventListener("pointerup", up);
          h.removeEventListener("pointercancel", up);
          h.classList.remove("dragging");
          if (moved) {
            row.mx = moved[0];
            row.my = moved[1];
            this.commit();
          }
        };
        h.addEventListener("pointermove", move);
        h.addEventListener("pointerup", up);
        h.addEventListener("pointercancel", up);
      });
      h.addEventListener("keydown", (e) => {
        const step = (e.shiftKey ? 0.1 : 0.025) * Math.min(xhi - xlo, yhi - ylo);
        const d = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] }[e.key];
        if (!d) return;
        e.preventDefault();
        e.stopPropagation();
        row.mx = round(row.mx + d[0]);
        row.my = round(row.my + d[1]);
        this.commit();
        this.handles[k]?.focus();
      });
      this.plotEl.append(h);
      this.handles.push(h);
    });
  }

  /** Starts a run on the table's mixture; a rejection is named and the table kept as typed. */
  commit() {
    const built = rowsToMixture(this.rows);
    if (!built.ok) {
      this.errorEl.textContent = built.message;
      this.errorEl.hidden = false;
      this.render();
      return false;
    }
    const ok = this.applyHook(built.energy);
    // On success the page syncs the editor from the run; on failure keep what was typed.
    if (!ok) this.render();
    return ok;
  }
}

/** Two decimals: what a drag can sensibly mean on a plot. */
function round(v) {
  return Math.round(v * 100) / 100;
}
