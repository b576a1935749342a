// Events: every registered event of the node with its producer, subscribers and messages
// published (the event list query; a Go 3.2 node does not answer it), filtered by the node. The
// inspector's own events (`inspect_…`: one per view an Observer or MCP client has open) are
// hidden unless asked for.

import { useState } from 'preact/hooks';

import { api, type Json } from '../api';
import { count, list } from '../format';
import { isErgoTS, useFramework, useSubscription } from '../hooks';
import { Error, PidLink } from '../ui';

/** `Event#<CRC:name>` → name. */
function eventName(e: Json): string {
  const s = String(e ?? '');
  const m = /^Event#<[0-9A-F]{8}:(.*)>$/.exec(s);
  return m === null ? s : m[1]!;
}

/**
 * Events of the node's inspector (system_inspect's inspectors, Go's and ergo-ts's alike, name
 * theirs `inspect_<query>…`): what the Observer itself is watching, not the node's own events.
 */
export const isInspectorEvent = (name: string): boolean => name.startsWith('inspect_');

export function EventsPage() {
  const [showInspector, setShowInspector] = useState(false);
  const [name, setName] = useState('');
  const [notifyMode, setNotify] = useState('');
  const [bufferedMode, setBuffered] = useState('');
  const [minSubscribers, setMin] = useState(0);
  const framework = useFramework();
  // The event list query is an ergo-ts addition: a Go Ergo 3.2 node would never answer it.
  const supported = isErgoTS(framework);
  const [data, error] = useSubscription(
    'event_list',
    { limit: 1000, namePattern: name, notifyMode, bufferedMode, minSubscribers },
    () => true,
    supported,
  );
  const all: Json[] = list(data?.events);
  const events = showInspector ? all : all.filter((e) => !isInspectorEvent(eventName(e.event)));
  const hidden = all.length - events.length;
  return (
    <div class="page" data-page="events">
      <h1>Events</h1>
      <div class="toolbar">
        <input
          placeholder="name contains"
          value={name}
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />
        <select value={notifyMode} onChange={(e) => setNotify((e.target as HTMLSelectElement).value)}>
          <option value="">notify: any</option>
          <option value="yes">notify: yes</option>
          <option value="no">notify: no</option>
        </select>
        <select value={bufferedMode} onChange={(e) => setBuffered((e.target as HTMLSelectElement).value)}>
          <option value="">buffered: any</option>
          <option value="yes">buffered: yes</option>
          <option value="no">buffered: no</option>
        </select>
        <label>
          min subscribers{' '}
          <input
            type="number"
            min={0}
            value={minSubscribers}
            onInput={(e) => setMin(Number((e.target as HTMLInputElement).value) || 0)}
          />
        </label>
        <label title="the events of system_inspect's inspectors, one per view an Observer or MCP client has open">
          <input
            type="checkbox"
            data-testid="show-inspector-events"
            checked={showInspector}
            onChange={(e) => setShowInspector((e.target as HTMLInputElement).checked)}
          />
          the inspector's own events (inspect_…)
        </label>
        {hidden > 0 ? (
          <span class="muted" data-testid="inspector-events-hidden">
            {hidden} inspector events hidden
          </span>
        ) : null}
      </div>
      {framework === null || supported ? null : (
        <p class="note" data-testid="events-unsupported">
          {api.connected?.node.name} runs {framework}: its inspector has no event list query (an ergo-ts addition), so
          its events cannot be listed here. A process page still shows the events that process registered.
        </p>
      )}
      <Error text={error} />
      <table class="grid" data-testid="events" style={{ display: supported ? undefined : 'none' }}>
        <thead>
          <tr>
            <th>event</th>
            <th>producer</th>
            <th>subscribers</th>
            <th>published</th>
            <th>notify</th>
            <th>buffer</th>
          </tr>
        </thead>
        <tbody>
          {supported && data !== null && events.length === 0 ? (
            <tr>
              <td colSpan={6} class="muted">
                no events
                {name !== '' || notifyMode !== '' || bufferedMode !== '' || minSubscribers > 0
                  ? ' match these filters'
                  : hidden > 0
                    ? " registered on this node but the inspector's own"
                    : ' registered on this node'}
              </td>
            </tr>
          ) : null}
          {events.map((e) => (
            <tr key={String(e.event)} data-event={eventName(e.event)}>
              <td class="mono">{eventName(e.event)}</td>
              <td>
                <PidLink pid={e.producer} />
              </td>
              <td>{count(e.subscribers)}</td>
              <td>{count(e.published)}</td>
              <td>{e.notify ? 'yes' : 'no'}</td>
              <td>{e.buffer ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
