// Events: every registered event of the node with its producer, subscribers and traffic (from
// the node's event list inspector, where the node has one).

import { useState } from 'preact/hooks';

import { type Json } from '../api';
import { count, list } from '../format';
import { useSubscription } from '../hooks';
import { Error, PidLink } from '../ui';

export function EventsPage() {
  const [name, setName] = useState('');
  const [data, error] = useSubscription('event_list', { limit: 1000 });
  const events: Json[] = list(data?.events).filter((e: Json) => name === '' || String(e.name).includes(name));
  return (
    <div class="page" data-page="events">
      <h1>Events</h1>
      <div class="toolbar">
        <input
          placeholder="name contains"
          value={name}
          onInput={(e) => setName((e.target as HTMLInputElement).value)}
        />
      </div>
      <Error
        text={
          error !== null && /event_list/.test(error)
            ? 'This node does not answer event list queries (a newer inspector query than Ergo 3.2 has).'
            : error
        }
      />
      <table class="grid" data-testid="events">
        <thead>
          <tr>
            <th>event</th>
            <th>producer</th>
            <th>subscribers</th>
            <th>published</th>
            <th>local sent</th>
            <th>remote sent</th>
            <th>notify</th>
            <th>buffer</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => (
            <tr key={e.name} data-event={e.name}>
              <td class="mono">{e.name}</td>
              <td>
                <PidLink pid={e.producer} />
              </td>
              <td>{count(e.subscribers)}</td>
              <td>{count(e.messagesPublished ?? e.published)}</td>
              <td>{count(e.messagesLocalSent ?? e.localSent)}</td>
              <td>{count(e.messagesRemoteSent ?? e.remoteSent)}</td>
              <td>{e.notify ? 'yes' : 'no'}</td>
              <td>{e.buffered ?? e.buffer ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
