%% Erlang peer of bench/src/suites/scale.ts (run with +S 1 and a raised +P): N live idle
%% processes, each a raw receive loop; then, per round, Calls calls in a row to random live
%% processes (raw ! and receive with a fresh reference: no gen_server), timed one by one, and the
%% spawn of Extra more processes at that size (killed after the clock).
%% Prints: scale_call (calls/s), scale_p99 and scale_p999 (latency of one call, us), scale_spawn
%% (spawns/s at size N); the note gives the time to reach N and erlang:memory(processes).
-module(bench_scale).
-export([scale/5, target/0]).

scale(Rounds, Warmup, N, Calls, Extra) ->
    T0 = bench_util:now_ns(),
    Pids = list_to_tuple(spawn_n(N, [])),
    Fill = bench_util:rate(N, bench_util:now_ns() - T0),
    Res = bench_util:rounds(Rounds, Warmup, fun() -> round(Pids, N, Calls, Extra) end),
    Note = lists:flatten(io_lib:format(
        "raw !/receive, ~b live (filled at ~b spawns/s), memory(processes) ~b MB",
        [N, round(Fill), erlang:memory(processes) div 1048576])),
    bench_util:row(scale_call, [R || {R, _, _, _} <- Res], Note),
    bench_util:row(scale_p99, [P || {_, P, _, _} <- Res], Note),
    bench_util:row(scale_p999, [P || {_, _, P, _} <- Res], Note),
    bench_util:row(scale_spawn, [S || {_, _, _, S} <- Res], Note).

round(Pids, N, Calls, Extra) ->
    T0 = bench_util:now_ns(),
    Lat = calls(Pids, N, Calls, []),
    Rate = bench_util:rate(Calls, bench_util:now_ns() - T0),
    Sorted = list_to_tuple(lists:sort(Lat)),
    P99 = element(pct(Calls, 0.99), Sorted) / 1000,
    P999 = element(pct(Calls, 0.999), Sorted) / 1000,
    Base = erlang:system_info(process_count),
    S0 = bench_util:now_ns(),
    More = spawn_n(Extra, []),
    Spawn = bench_util:rate(Extra, bench_util:now_ns() - S0),
    [exit(P, kill) || P <- More],
    wait_count(Base),
    {Rate, P99, P999, Spawn}.

pct(Len, Q) -> max(1, min(Len, ceil(Len * Q))).

calls(_Pids, _N, 0, Acc) -> Acc;
calls(Pids, N, K, Acc) ->
    P = element(rand:uniform(N), Pids),
    T0 = erlang:monotonic_time(nanosecond),
    Ref = make_ref(),
    P ! {self(), Ref, K},
    receive {Ref, K} -> ok end,
    calls(Pids, N, K - 1, [erlang:monotonic_time(nanosecond) - T0 | Acc]).

spawn_n(0, Acc) -> Acc;
spawn_n(N, Acc) -> spawn_n(N - 1, [spawn(?MODULE, target, []) | Acc]).

%% A live idle process: answers each request and waits again.
target() ->
    receive
        {From, Ref, M} -> From ! {Ref, M}, target()
    end.

wait_count(Base) ->
    case erlang:system_info(process_count) > Base of
        true -> timer:sleep(5), wait_count(Base);
        false -> ok
    end.
