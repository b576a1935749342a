%% Shared helpers of the Erlang peers of `npm run bench`.
%%
%% The runner compiles bench/erlang/*.erl into a temporary directory and starts, for every
%% scenario, a fresh VM:  erl -noshell -pa Dir -run bench_util main Module Fun Rounds Warmup Args...
%% Module:Fun(Rounds, Warmup, Args...) measures inside the VM (erl start-up is never timed) and
%% prints one line per figure:  @@erl {"id":"...","samples":[...],"note":"..."}
-module(bench_util).
-export([main/1, rounds/3, row/3, now_ns/0, rate/2, spawn_wait/0]).

main([Mod, Fun, Rounds, Warmup | Args]) ->
    {Cpu0, _} = erlang:statistics(runtime),
    {Wall0, _} = erlang:statistics(wall_clock),
    try
        apply(list_to_atom(Mod), list_to_atom(Fun),
              [list_to_integer(Rounds), list_to_integer(Warmup) | [list_to_integer(A) || A <- Args]]),
        {Cpu1, _} = erlang:statistics(runtime),
        {Wall1, _} = erlang:statistics(wall_clock),
        %% CPU time of the whole VM (all schedulers) vs wall time, for the runner's busy-machine check.
        io:format("@@cpu {\"cpuMs\":~b,\"wallMs\":~b}~n", [Cpu1 - Cpu0, Wall1 - Wall0]),
        halt(0)
    catch
        Class:Reason:Stack ->
            io:format("@@error ~p~n", [{Class, Reason, Stack}]),
            halt(1)
    end.

%% Runs Warmup + Rounds rounds of Fun (each returns its figure); returns the figures of the
%% measured rounds. No forced GC between rounds (as in the JS suites).
rounds(Rounds, Warmup, Fun) ->
    rounds(Rounds, Warmup, Fun, 0, []).

rounds(Rounds, Warmup, _Fun, I, Acc) when I >= Rounds + Warmup ->
    lists:reverse(Acc);
rounds(Rounds, Warmup, Fun, I, Acc) ->
    V = Fun(),
    Acc1 = if I >= Warmup -> [V | Acc]; true -> Acc end,
    rounds(Rounds, Warmup, Fun, I + 1, Acc1).

row(Id, Samples, Note) ->
    S = lists:join(",", [float_to_list(float(X), [{decimals, 3}]) || X <- Samples]),
    io:format("@@erl {\"id\":\"~s\",\"samples\":[~s],\"note\":\"~s\"}~n", [Id, S, Note]).

now_ns() ->
    erlang:monotonic_time(nanosecond).

%% Count per second from a count and nanoseconds.
rate(Count, Ns) ->
    Count * 1.0e9 / Ns.

%% An idle process body: waits in receive until told to stop.
spawn_wait() ->
    receive stop -> ok end.
