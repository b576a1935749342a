%% The child of bench_supervision:restart: crashes right after init while the countdown lasts.
-module(bench_crasher).
-behaviour(gen_server).
-export([start_link/2]).
-export([init/1, handle_info/2, handle_call/3, handle_cast/2]).

start_link(A, Driver) ->
    gen_server:start_link(?MODULE, {A, Driver}, []).

init({A, Driver}) ->
    case atomics:sub_get(A, 1, 1) of
        Left when Left >= 0 -> self() ! crash;
        _ -> Driver ! restarts_done
    end,
    {ok, A}.

handle_info(crash, S) -> {stop, crash, S};
handle_info(_, S) -> {noreply, S}.
handle_call(_, _, S) -> {reply, ok, S}.
handle_cast(_, S) -> {noreply, S}.
