/**
 * The discrete-event queue: a binary min-heap on (time, insertion order). Two events at the same
 * virtual instant run in the order they were scheduled, so a run depends on nothing but its seed.
 */
export type Task = () => void;

export class EventQueue {
  private times: number[] = [];
  private seqs: number[] = [];
  private tasks: Task[] = [];
  private seq = 0;

  get size(): number {
    return this.tasks.length;
  }

  push(time: number, task: Task): void {
    const times = this.times;
    const seqs = this.seqs;
    const tasks = this.tasks;
    const seq = this.seq++;
    let i = tasks.length;
    times.push(time);
    seqs.push(seq);
    tasks.push(task);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const pt = times[parent] as number;
      if (pt < time || (pt === time && (seqs[parent] as number) < seq)) break;
      times[i] = pt;
      seqs[i] = seqs[parent] as number;
      tasks[i] = tasks[parent] as Task;
      i = parent;
    }
    times[i] = time;
    seqs[i] = seq;
    tasks[i] = task;
  }

  /** Time of the next event; +Infinity when empty. */
  peekTime(): number {
    return this.tasks.length === 0 ? Number.POSITIVE_INFINITY : (this.times[0] as number);
  }

  /** Removes the next event and returns its task (the caller reads its time with peekTime first). */
  pop(): Task {
    const times = this.times;
    const seqs = this.seqs;
    const tasks = this.tasks;
    const top = tasks[0] as Task;
    const lastTime = times.pop() as number;
    const lastSeq = seqs.pop() as number;
    const lastTask = tasks.pop() as Task;
    const n = tasks.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        if (r < n) {
          const lt = times[l] as number;
          const rt = times[r] as number;
          if (rt < lt || (rt === lt && (seqs[r] as number) < (seqs[l] as number))) c = r;
        }
        const ct = times[c] as number;
        if (ct > lastTime || (ct === lastTime && (seqs[c] as number) > lastSeq)) break;
        times[i] = ct;
        seqs[i] = seqs[c] as number;
        tasks[i] = tasks[c] as Task;
        i = c;
      }
      times[i] = lastTime;
      seqs[i] = lastSeq;
      tasks[i] = lastTask;
    }
    return top;
  }
}
