/**
 * Longest-prefix matching of destination numbers, as a digit trie in flat typed arrays: one
 * lookup reads one array slot per digit and allocates nothing, which is what lets the rating
 * core stay above a million records a second with tens of thousands of prefixes.
 */
export class PrefixTable {
  /** `children[node * 10 + digit]` is the child node, 0 when there is none (node 0 is the root). */
  private children: Int32Array;
  /** The value stored at the node, -1 when no prefix ends there. */
  private values: Int32Array;
  private nodes = 1;

  constructor(capacity = 1024) {
    this.children = new Int32Array(capacity * 10);
    this.values = new Int32Array(capacity).fill(-1);
  }

  /** Stores `value` (≥ 0) for `prefix` (digits only); a second insert of the same prefix replaces it. */
  insert(prefix: string, value: number): void {
    if (!/^\d+$/.test(prefix)) throw new Error(`not a digit prefix: ${JSON.stringify(prefix)}`);
    if (!Number.isInteger(value) || value < 0) throw new Error('prefix values are non-negative integers');
    let node = 0;
    for (let index = 0; index < prefix.length; index += 1) {
      const slot = node * 10 + (prefix.charCodeAt(index) - 48);
      let child = this.children[slot]!;
      if (child === 0) {
        child = this.allocate();
        this.children[slot] = child;
      }
      node = child;
    }
    this.values[node] = value;
  }

  /**
   * The value of the longest stored prefix of `number`, or -1. `matchedLength` (when asked for)
   * receives the length of that prefix. Stops at the first non-digit.
   */
  lookup(number: string, matchedLength?: { length: number }): number {
    let node = 0;
    let best = this.values[0]!;
    let bestLength = 0;
    const children = this.children;
    const values = this.values;
    for (let index = 0; index < number.length; index += 1) {
      const digit = number.charCodeAt(index) - 48;
      if (digit < 0 || digit > 9) break;
      node = children[node * 10 + digit]!;
      if (node === 0) break;
      const value = values[node]!;
      if (value >= 0) {
        best = value;
        bestLength = index + 1;
      }
    }
    if (matchedLength) matchedLength.length = bestLength;
    return best;
  }

  get size(): number {
    return this.nodes;
  }

  private allocate(): number {
    if (this.nodes === this.values.length) {
      const children = new Int32Array(this.children.length * 2);
      children.set(this.children);
      this.children = children;
      const values = new Int32Array(this.values.length * 2).fill(-1);
      values.set(this.values);
      this.values = values;
    }
    const node = this.nodes;
    this.nodes += 1;
    return node;
  }
}
