%% Erlang peer of bench/src/suites/events.ts:
%% - fanout: Subs subscriber processes; the producer (the driver) sends Publishes messages to every
%%   subscriber pid in a loop (what pg does underneath; Erlang has no producer-owned event type);
%%   subscribers count in a shared atomics counter and the one that reaches Subs*Publishes tells
%%   the driver. Figure: deliveries/s.
%% - relations: a fresh watcher process monitors (or links to, trapping exits) each of N live
%%   processes and sends it `stop`; the clock stops at the N-th 'DOWN' / 'EXIT'. Baseline `stop`:
%%   the same without a relation, the targets count their own exits in an atomics counter.
-module(bench_events).
-export([fanout/4, relations/3]).
-export([subscriber/3, target/2]).

fanout(Rounds, Warmup, Subs, Publishes) ->
    A = atomics:new(1, []),
    Total = Subs * Publishes,
    Self = self(),
    Pids = [spawn(?MODULE, subscriber, [A, Total, Self]) || _ <- lists:seq(1, Subs)],
    Samples = bench_util:rounds(Rounds, Warmup, fun() ->
        atomics:put(A, 1, 0),
        T0 = bench_util:now_ns(),
        publish(Pids, Publishes, 0),
        receive fanout_done -> ok end,
        T1 = bench_util:now_ns(),
        bench_util:rate(Total, T1 - T0)
    end),
    bench_util:row(fanout, Samples,
                   lists:flatten(io_lib:format("~b x ~bK, send loop, schedulers: ~b",
                                               [Publishes, Subs div 1000, erlang:system_info(schedulers_online)]))).

publish(_Pids, Publishes, I) when I >= Publishes -> ok;
publish(Pids, Publishes, I) ->
    Msg = {event, fanout, I},
    lists:foreach(fun(P) -> P ! Msg end, Pids),
    publish(Pids, Publishes, I + 1).

subscriber(A, Total, Parent) ->
    receive
        {event, _, _} ->
            case atomics:add_get(A, 1, 1) of
                Total -> Parent ! fanout_done;
                _ -> ok
            end,
            subscriber(A, Total, Parent)
    end.

relations(Rounds, Warmup, N) ->
    [begin
         Samples = bench_util:rounds(Rounds, Warmup, fun() -> relations_round(Mode, N) end),
         bench_util:row(Mode, Samples, Note)
     end || {Mode, Note} <- [{monitor, "monitor + stop -> DOWN"},
                             {link, "link (trap_exit) + stop -> EXIT"},
                             {stop, "stop -> exit"}]],
    ok.

relations_round(Mode, N) ->
    A = atomics:new(1, []),
    Self = self(),
    Counter = case Mode of stop -> {A, N, Self}; _ -> none end,
    Targets = [spawn(?MODULE, target, [Counter, Mode]) || _ <- lists:seq(1, N)],
    Watcher = spawn(fun() ->
        case Mode of link -> process_flag(trap_exit, true); _ -> ok end,
        receive go -> ok end,
        watch(Mode, Targets),
        case Mode of
            stop -> ok;
            _ -> await_notes(N), Self ! stop_done
        end
    end),
    erlang:garbage_collect(),
    T0 = bench_util:now_ns(),
    Watcher ! go,
    receive stop_done -> ok end,
    T1 = bench_util:now_ns(),
    bench_util:rate(N, T1 - T0).

watch(_Mode, []) -> ok;
watch(monitor, [P | Rest]) -> erlang:monitor(process, P), P ! stop, watch(monitor, Rest);
watch(link, [P | Rest]) -> link(P), P ! stop, watch(link, Rest);
watch(stop, [P | Rest]) -> P ! stop, watch(stop, Rest).

await_notes(0) -> ok;
await_notes(K) ->
    receive
        {'DOWN', _, process, _, _} -> await_notes(K - 1);
        {'EXIT', _, _} -> await_notes(K - 1)
    end.

target(Counter, _Mode) ->
    receive
        stop ->
            case Counter of
                {A, N, Parent} ->
                    case atomics:add_get(A, 1, 1) of
                        N -> Parent ! stop_done;
                        _ -> ok
                    end;
                none -> ok
            end
    end.
