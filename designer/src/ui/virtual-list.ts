import { elementScroll, observeElementOffset, observeElementRect, Virtualizer, type VirtualItem } from '@tanstack/virtual-core';
import { useLayoutEffect, useReducer, useRef, useState } from 'preact/hooks';

/**
 * A virtualised list for Preact on `@tanstack/virtual-core`: only the rows in view (and a few
 * beyond) are in the DOM, so a thousand tasks render and scroll as fast as thirty. Rows have a
 * fixed height; `scrollRef` goes on the scrolling element.
 */
export function useVirtualList<E extends HTMLElement>({ count, rowHeight, overscan = 8 }: { count: number; rowHeight: number; overscan?: number }) {
  const scrollRef = useRef<E>(null);
  const [, rerender] = useReducer((tick: number) => tick + 1, 0);
  const [virtualizer] = useState(
    () =>
      new Virtualizer<E, Element>({
        count,
        getScrollElement: () => scrollRef.current,
        estimateSize: () => rowHeight,
        overscan,
        observeElementRect,
        observeElementOffset,
        scrollToFn: elementScroll,
        onChange: () => rerender(undefined as never),
      }),
  );
  virtualizer.setOptions({ ...virtualizer.options, count, estimateSize: () => rowHeight, overscan });
  useLayoutEffect(() => virtualizer._didMount(), []);
  useLayoutEffect(() => virtualizer._willUpdate());
  const items: VirtualItem[] = virtualizer.getVirtualItems();
  return {
    scrollRef,
    items,
    totalSize: virtualizer.getTotalSize(),
    scrollToIndex: (index: number) => virtualizer.scrollToIndex(index, { align: 'auto' }),
  };
}
