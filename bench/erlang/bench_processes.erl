%% Erlang peer of bench/src/suites/processes.ts:
%% - spawn_rate: spawn/3 N processes that wait in receive; the clock covers the spawn loop only.
%% - heap_idle: (erlang:memory(processes) after spawning N idle processes - before) / N, with the
%%   driver garbage-collected before both readings; the pids are kept in an ETS table (not process
%%   memory) so they can be killed after the reading.
-module(bench_processes).
-export([spawn_rate/3, heap_idle/3]).

spawn_rate(Rounds, Warmup, N) ->
    Samples = bench_util:rounds(Rounds, Warmup, fun() -> spawn_round(N) end),
    bench_util:row(spawn_rate, Samples, "spawn/3 xN").

spawn_round(N) ->
    Base = erlang:system_info(process_count),
    T0 = bench_util:now_ns(),
    Pids = spawn_n(N, []),
    T1 = bench_util:now_ns(),
    [exit(P, kill) || P <- Pids],
    wait_count(Base),
    bench_util:rate(N, T1 - T0).

spawn_n(0, Acc) -> Acc;
spawn_n(N, Acc) -> spawn_n(N - 1, [spawn(bench_util, spawn_wait, []) | Acc]).

heap_idle(Rounds, Warmup, N) ->
    Tab = ets:new(pids, [set, public]),
    Samples = bench_util:rounds(Rounds, Warmup, fun() -> heap_round(Tab, N) end),
    P = spawn(bench_util, spawn_wait, []),
    timer:sleep(10),
    {memory, One} = erlang:process_info(P, memory),
    bench_util:row(heap_idle, Samples,
                   lists:flatten(io_lib:format("memory(processes) delta; process_info memory of one: ~b B", [One]))).

heap_round(Tab, N) ->
    Base = erlang:system_info(process_count),
    erlang:garbage_collect(),
    timer:sleep(10),
    Before = erlang:memory(processes),
    spawn_into(Tab, N),
    timer:sleep(50),
    erlang:garbage_collect(),
    After = erlang:memory(processes),
    ets:foldl(fun({P}, _) -> exit(P, kill) end, ok, Tab),
    ets:delete_all_objects(Tab),
    wait_count(Base),
    (After - Before) / N.

spawn_into(_Tab, 0) -> ok;
spawn_into(Tab, N) ->
    ets:insert(Tab, {spawn(bench_util, spawn_wait, [])}),
    spawn_into(Tab, N - 1).

wait_count(Base) ->
    case erlang:system_info(process_count) > Base of
        true -> timer:sleep(5), wait_count(Base);
        false -> ok
    end.
