// @ts-check
// The formula box: an energy E(x, y) or E(x) typed by the user. The text is parsed by the
// wasm core (`check_formula`, no JavaScript eval) while typing; a parse error is shown at
// the box with the offending character marked, and the running run is left alone. A valid
// formula starts a run on {"formula": {"energy": text, "window": [[lo, hi], ...]}}, the
// same JSON the URL hash and the command line take.

/** The target select's value for a formula. */
export const FORMULA_ENERGY = "formula";

/** The example shown when the user first picks a formula: a tilted double well. */
export const EXAMPLE_FORMULA = { energy: "(x^2 - 4)^2 / 4 + 2 * (y - x / 4)^2", window: [[-4, 4], [-3, 3]] };
const EXAMPLE_1D = { energy: "(x^2 - 4)^2 / 4 + x / 2", window: [[-4, 4]] };

/** Whether a configuration's energy is a formula. */
export function isFormulaEnergy(energy) {
  return energy !== null && typeof energy === "object" && !Array.isArray(energy) && typeof energy.formula === "object" && energy.formula !== null;
}

/**
 * The message of a parse error with the formula's text around the column: `before`, the
 * offending character `at` (a space past the end) and `after`, shortened to `radius`
 * characters on each side.
 * @returns {{ before: string, at: string, after: string }}
 */
export function markColumn(text, column, radius = 24) {
  const chars = Array.from(text);
  const i = Math.max(0, Math.min(column - 1, chars.length));
  const start = Math.max(0, i - radius);
  const end = Math.min(chars.length, i + 1 + radius);
  return {
    before: (start > 0 ? "…" : "") + chars.slice(start, i).join(""),
    at: i < chars.length ? chars[i] : " ",
    after: chars.slice(i + 1, end).join("") + (end < chars.length ? "…" : ""),
  };
}

let ids = 0;

export class FormulaEditor {
  /**
   * @param {HTMLElement} root an empty container, shown while the target is a formula
   * @param {{ check: (text: string, dim: number) => ({ message: string, column: number | null } | null),
   *           apply: (energy: object, errorEl: HTMLElement, inputEl: HTMLElement) => boolean }} hooks
   *   `check` parses (the core's check_formula); `apply` starts a run on the energy and
   *   reports a rejection at `errorEl`, returning whether the run started.
   */
  constructor(root, hooks) {
    this.root = root;
    this.hooks = hooks;
    const suffix = ids === 0 ? "" : `-${ids}`;
    ids += 1;
    const id = (name) => `formula-${name}${suffix}`;
    root.classList.add("formula-editor");
    root.innerHTML = `
      <div class="formula-head">
        <label for="${id("text")}">Energy</label>
        <select id="${id("dim")}" aria-label="Variables">
          <option value="2">E(x, y)</option>
          <option value="1">E(x)</option>
        </select>
      </div>
      <textarea id="${id("text")}" class="formula-text" rows="2" spellcheck="false" autocomplete="off"
        autocapitalize="off" aria-describedby="${id("error")} ${id("help")}"></textarea>
      <p class="formula-error field-error" id="${id("error")}" role="alert" hidden></p>
      <code class="formula-mark" hidden><span></span><mark></mark><span></span></code>
      <div class="formula-window" role="group" aria-label="Plot window">
        <span>x from</span><input type="number" step="any" inputmode="decimal" aria-label="x from">
        <span>to</span><input type="number" step="any" inputmode="decimal" aria-label="x to">
        <span class="y">y from</span><input class="y" type="number" step="any" inputmode="decimal" aria-label="y from">
        <span class="y">to</span><input class="y" type="number" step="any" inputmode="decimal" aria-label="y to">
      </div>
      <p class="desc" id="${id("help")}">+ − * / ^, exp, log, sqrt, sin, cos, tanh, abs, min, max, pi, e.
        The density is exp(−E/τ) over the window. <kbd>Enter</kbd> applies.</p>
      <button type="button" class="formula-apply">Run this energy</button>`;
    this.dimSelect = root.querySelector("select");
    this.text = root.querySelector("textarea");
    /** @type {HTMLElement} */
    this.errorEl = root.querySelector(".formula-error");
    /** @type {HTMLElement} */
    this.markEl = root.querySelector(".formula-mark");
    /** @type {HTMLInputElement[]} */
    this.windowInputs = [...root.querySelectorAll("input")].filter((i) => i.closest(".formula-window"));
    this.text.addEventListener("input", () => this.check());
    this.text.addEventListener("keydown", (e) => {
      if (e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        this.apply();
      }
    });
    this.dimSelect.addEventListener("change", () => {
      const example = this.dimSelect.value === "1" ? EXAMPLE_1D : EXAMPLE_FORMULA;
      this.fill(example);
      this.apply();
    });
    for (const input of this.windowInputs) {
      input.addEventListener("keydown", (e) => {
        if (e.key === "Enter") {
          e.preventDefault();
          this.apply();
        }
      });
    }
    root.querySelector(".formula-apply").addEventListener("click", () => this.apply());
    this.fill(EXAMPLE_FORMULA);
  }

  get dim() {
    return Number(this.dimSelect.value);
  }

  /** Puts a formula spec ({energy, window}) into the box. */
  fill(spec) {
    const dim = spec.window.length === 1 ? 1 : 2;
    this.dimSelect.value = String(dim);
    this.text.value = spec.energy;
    const flat = spec.window.flat();
    this.windowInputs.forEach((input, k) => {
      input.value = k < flat.length ? String(flat[k]) : "";
    });
    for (const el of /** @type {NodeListOf<HTMLElement>} */ (this.root.querySelectorAll(".y"))) el.hidden = dim === 1;
    this.clearError();
  }

  /** Shows the running formula unless the user is fixing a rejected one. */
  sync(energy) {
    if (!isFormulaEnergy(energy)) return;
    if (this.text.getAttribute("aria-invalid") === "true") return;
    this.fill(energy.formula);
  }

  /** Parses the text; shows and returns the error, or clears it and returns null. */
  check() {
    const problem = this.hooks.check(this.text.value, this.dim);
    if (problem) this.showError(problem.message, problem.column);
    else this.clearError();
    return problem;
  }

  /** The energy the box describes (the window as typed; the core checks it). */
  value() {
    const numbers = this.windowInputs.slice(0, 2 * this.dim).map((input) => (input.value.trim() === "" ? NaN : Number(input.value)));
    const window = [];
    for (let k = 0; k < this.dim; k++) window.push([numbers[2 * k], numbers[2 * k + 1]]);
    return { formula: { energy: this.text.value, window } };
  }

  /** Starts a run on the formula when it parses; otherwise points at the error. */
  apply() {
    const problem = this.check();
    if (problem) {
      this.text.focus();
      if (problem.column !== null) {
        // Select the offending character (columns count characters; the textarea UTF-16 units).
        const before = Array.from(this.text.value).slice(0, problem.column - 1).join("").length;
        const at = Array.from(this.text.value)[problem.column - 1] ?? "";
        this.text.setSelectionRange(before, before + at.length);
      }
      return false;
    }
    const energy = this.value();
    const bad = this.windowInputs.slice(0, 2 * this.dim).find((input) => !Number.isFinite(Number(input.value)) || input.value.trim() === "");
    if (bad) {
      this.showError(`the window needs a number in "${bad.getAttribute("aria-label")}"`, null);
      bad.focus();
      return false;
    }
    this.markEl.hidden = true;
    return this.hooks.apply(energy, this.errorEl, this.text);
  }

  showError(message, column) {
    this.errorEl.hidden = false;
    this.errorEl.textContent = message;
    const mark = this.markEl;
    mark.hidden = column === null || column === undefined;
    if (!mark.hidden) {
      const m = markColumn(this.text.value, column);
      const [before, at, after] = mark.children;
      before.textContent = m.before;
      at.textContent = m.at;
      after.textContent = m.after;
      mark.setAttribute("aria-label", `at column ${column}`);
    }
    this.text.setAttribute("aria-invalid", "true");
  }

  clearError() {
    this.errorEl.hidden = true;
    this.errorEl.textContent = "";
    this.markEl.hidden = true;
    this.text.removeAttribute("aria-invalid");
  }
}
