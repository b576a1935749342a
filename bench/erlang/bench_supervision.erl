%% Erlang peer of bench/src/suites/supervision.ts:
%% - restart: a one_for_one supervisor with one transient gen_server child (bench_crasher); the
%%   child sends itself `crash` from init and stops with {stop, crash, State}; the supervisor
%%   restarts it until N restarts happened (an atomics countdown, decremented in init); a round runs
%%   Lifetimes such supervisors one after another (OTP filters its list of restarts in the period
%%   on every restart, so a supervisor's lifetime is kept short, as in the JS peer). Crash reports
%%   are switched off (logger level none), as the ergo-ts node runs without a logger.
%%   Figure: restarts/s.
-module(bench_supervision).
-behaviour(supervisor).
-export([restart/4]).
-export([init/1]).

restart(Rounds, Warmup, N, Lifetimes) ->
    logger:set_primary_config(level, none),
    process_flag(trap_exit, true),
    Samples = bench_util:rounds(Rounds, Warmup, fun() ->
        T0 = bench_util:now_ns(),
        lists:foreach(fun(_) -> lifetime(N) end, lists:seq(1, Lifetimes)),
        T1 = bench_util:now_ns(),
        bench_util:rate(N * Lifetimes, T1 - T0)
    end),
    bench_util:row(restart, Samples,
                   lists:flatten(io_lib:format("~b supervisors x ~b restarts, gen_server child stops right after init, schedulers: ~b",
                                               [Lifetimes, N, erlang:system_info(schedulers_online)]))).

lifetime(N) ->
    A = atomics:new(1, []),
    atomics:put(A, 1, N),
    {ok, Sup} = supervisor:start_link(?MODULE, {A, self()}),
    receive restarts_done -> ok end,
    unlink(Sup),
    exit(Sup, kill),
    receive {'EXIT', Sup, _} -> ok after 0 -> ok end.

init({A, Driver}) ->
    Flags = #{strategy => one_for_one, intensity => 1000000000, period => 1},
    Child = #{id => crasher, start => {bench_crasher, start_link, [A, Driver]}, restart => transient,
              shutdown => brutal_kill, type => worker},
    {ok, {Flags, [Child]}}.
