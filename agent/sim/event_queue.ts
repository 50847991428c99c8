/**
 * The simulator's agenda: a binary min-heap ordered by (time, insertion sequence), so
 * events at the same virtual instant run in the order they were scheduled.
 */
export class EventQueue<T> {
  #at: number[] = [];
  #seq: number[] = [];
  #items: T[] = [];
  #next = 0;

  get size(): number {
    return this.#items.length;
  }

  /** Time of the earliest event, or Infinity when empty. */
  peekTime(): number {
    return this.#items.length > 0 ? this.#at[0] : Infinity;
  }

  push(at: number, item: T): void {
    this.#at.push(at);
    this.#seq.push(this.#next++);
    this.#items.push(item);
    this.#up(this.#items.length - 1);
  }

  /** Removes and returns the earliest event with its time. */
  pop(): { at: number; item: T } | undefined {
    const n = this.#items.length;
    if (n === 0) return undefined;
    const top = { at: this.#at[0], item: this.#items[0] };
    this.#move(n - 1, 0);
    this.#at.pop(), this.#seq.pop(), this.#items.pop();
    if (n > 1) this.#down(0);
    return top;
  }

  #less(i: number, j: number): boolean {
    return this.#at[i] < this.#at[j] ||
      (this.#at[i] === this.#at[j] && this.#seq[i] < this.#seq[j]);
  }

  #move(from: number, to: number) {
    this.#at[to] = this.#at[from];
    this.#seq[to] = this.#seq[from];
    this.#items[to] = this.#items[from];
  }

  #swap(i: number, j: number) {
    [this.#at[i], this.#at[j]] = [this.#at[j], this.#at[i]];
    [this.#seq[i], this.#seq[j]] = [this.#seq[j], this.#seq[i]];
    [this.#items[i], this.#items[j]] = [this.#items[j], this.#items[i]];
  }

  #up(i: number) {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #down(i: number) {
    const n = this.#items.length;
    for (;;) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < n && this.#less(l, m)) m = l;
      if (r < n && this.#less(r, m)) m = r;
      if (m === i) return;
      this.#swap(i, m);
      i = m;
    }
  }
}
