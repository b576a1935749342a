%% One Erlang/OTP node of the cluster-scale harness (bench/src/cluster/harness.ts), beside the
%% ergo-ts nodes: default distribution (full mesh, net_kernel ticks, global). Started with
%% `erl -name eK@ADDR -setcookie C -noshell -run bench_cluster_node start`; it reads commands
%% from stdin, one per line, and prints one line per answer or event. Times are the wall clock
%% in microseconds (os:system_time), which the driver shares.
%%   ready Node At                   started
%%   down Node At                    a connection to Node was lost (net_kernel:monitor_nodes)
%%   mesh Pong Pang Ms Lat1,Lat2...  answer to "mesh Inflight N1 N2 ...": net_adm:ping of each,
%%                                   Inflight at a time, each ping's time in µs
%%   connected Count                 answer to "connected": length(nodes())
-module(bench_cluster_node).
-export([start/0]).

start() ->
    Watch = spawn(fun() ->
        ok = net_kernel:monitor_nodes(true),
        watch()
    end),
    true = is_pid(Watch),
    io:format("ready ~s ~b~n", [node(), os:system_time(microsecond)]),
    loop().

watch() ->
    receive
        {nodedown, N} -> io:format("down ~s ~b~n", [N, os:system_time(microsecond)]);
        _ -> ok
    end,
    watch().

loop() ->
    case io:get_line('') of
        eof -> erlang:halt(0);
        {error, _} -> erlang:halt(0);
        Line ->
            command(string:lexemes(string:trim(Line), " ")),
            loop()
    end.

command(["mesh", Inflight | Nodes]) ->
    T0 = os:system_time(microsecond),
    Results = pmap([list_to_atom(N) || N <- Nodes], list_to_integer(Inflight)),
    Ms = (os:system_time(microsecond) - T0) div 1000,
    Pong = length([x || {pong, _} <- Results]),
    Pang = length([x || {pang, _} <- Results]),
    Lat = string:join([integer_to_list(L) || {pong, L} <- Results], ","),
    io:format("mesh ~b ~b ~b ~s~n", [Pong, Pang, Ms, Lat]);
command(["connected"]) ->
    io:format("connected ~b~n", [length(nodes())]);
command(["halt"]) ->
    erlang:halt(0);
command(Other) ->
    io:format("error unknown ~p~n", [Other]).

%% Pings every node, `Inflight` workers taking the next one from a shared counter.
pmap(Nodes, Inflight) ->
    Queue = list_to_tuple(Nodes),
    Counter = atomics:new(1, []),
    Self = self(),
    Workers = [spawn_link(fun() -> Self ! {self(), worker(Queue, Counter, [])} end)
               || _ <- lists:seq(1, max(1, min(Inflight, length(Nodes))))],
    lists:append([receive {W, R} -> R end || W <- Workers]).

worker(Queue, Counter, Acc) ->
    I = atomics:add_get(Counter, 1, 1),
    case I =< tuple_size(Queue) of
        false -> Acc;
        true ->
            S = os:system_time(microsecond),
            R = net_adm:ping(element(I, Queue)),
            worker(Queue, Counter, [{R, os:system_time(microsecond) - S} | Acc])
    end.
