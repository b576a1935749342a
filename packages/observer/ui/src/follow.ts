// Following the end of a scrolled list, as `tail -f` and a terminal do: the list opens scrolled
// to its newest line and stays there as lines arrive, until the user scrolls up (it then stays
// where they are); scrolling back to the bottom, or the "follow" button, follows again.

import { useLayoutEffect, useRef, useState } from 'preact/hooks';

/** Pixels from the bottom that still count as at the bottom (a fractional scroll position). */
const AT_BOTTOM_PX = 8;

/** What a followed list needs: its box, whether it follows, the box's scroll handler, and a jump to the end. */
export interface Follow {
  box: { current: HTMLDivElement | null };
  following: boolean;
  onScroll: () => void;
  toEnd: () => void;
}

/**
 * Keeps the box scrolled to its end after every change of `content` (the lines shown) while it
 * follows. The user's scroll decides: up from the end stops following, back to the end resumes.
 */
export function useFollow(content: unknown): Follow {
  const box = useRef<HTMLDivElement | null>(null);
  const follow = useRef(true);
  const [following, setFollowing] = useState(true);
  useLayoutEffect(() => {
    const el = box.current;
    if (el !== null && follow.current) el.scrollTop = el.scrollHeight;
  }, [content]);
  const set = (on: boolean): void => {
    if (follow.current === on) return;
    follow.current = on;
    setFollowing(on);
  };
  const onScroll = (): void => {
    const el = box.current;
    if (el !== null) set(el.scrollHeight - el.scrollTop - el.clientHeight <= AT_BOTTOM_PX);
  };
  const toEnd = (): void => {
    set(true);
    const el = box.current;
    if (el !== null) el.scrollTop = el.scrollHeight;
  };
  return { box, following, onScroll, toEnd };
}
