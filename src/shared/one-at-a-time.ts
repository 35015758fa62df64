/**
 * Steps that must not overlap (starting and stopping a listener, saving a document): each runs
 * once those asked before it have finished, in the order asked. A stop asked while a start is
 * still listening then comes after the start, instead of the start's end undoing the stop (or
 * leaving its listener running unseen), and two starts never both listen; a second save starts
 * from what the first one saved.
 */
export class OneAtATime {
  private last: Promise<unknown> = Promise.resolve();

  run<T>(step: () => Promise<T>): Promise<T> {
    const turn = this.last.then(step);
    this.last = turn.catch(() => undefined); // a step that failed does not stop the next one
    return turn;
  }
}
