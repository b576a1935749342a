%% Erlang distribution peer of `npm run bench` (suite erlang_dist): sends and gen_server calls
%% across a distribution connection between two local VMs (Erlang↔Erlang), and the node the
%% ergo-ts side talks to (serve/0, ergo-ts↔Erlang), with the same shapes:
%% windowed send: the sender sends Total small integers in chunks of Chunk with at most Window
%% chunks in flight (the receiver acks every Chunk); sequential call: Total gen_server:call in a row.
-module(bench_dist).
-behaviour(gen_server).
-export([send/5, call/3, serve/0, rx/3, start_echo/0]).
-export([init/1, handle_call/3, handle_cast/2]).

%% --- Erlang↔Erlang ------------------------------------------------------------------------------

send(Rounds, Warmup, Total, Chunk, Window) ->
    {Peer, Node} = start_peer(),
    Samples = bench_util:rounds(Rounds, Warmup, fun() -> send_round(Node, Total, Chunk, Window) end),
    peer:stop(Peer),
    bench_util:row(dist_send, Samples, "two local VMs, " ++ note()).

call(Rounds, Warmup, Total) ->
    {Peer, Node} = start_peer(),
    ok = rpc:call(Node, ?MODULE, start_echo, []),
    Samples = bench_util:rounds(Rounds, Warmup, fun() -> call_round({bench_echo, Node}, Total) end),
    peer:stop(Peer),
    bench_util:row(dist_call, Samples, "two local VMs, " ++ note()).

start_peer() ->
    Id = os:getpid(),
    %% as `erl -name` would: make sure an epmd runs (it stays, like erl's own)
    os:cmd("epmd -daemon"),
    {ok, _} = net_kernel:start([list_to_atom("bench_a_" ++ Id ++ "@127.0.0.1"), longnames]),
    Dir = filename:dirname(code:which(?MODULE)),
    {ok, Peer, Node} = peer:start_link(#{name => "bench_b_" ++ Id, host => "127.0.0.1", longnames => true,
                                          args => ["-setcookie", atom_to_list(erlang:get_cookie()), "-pa", Dir]}),
    {Peer, Node}.

send_round(Node, Total, Chunk, Window) ->
    Rx = spawn(Node, ?MODULE, rx, [self(), Chunk, Total]),
    T0 = bench_util:now_ns(),
    Chunks = Total div Chunk,
    First = min(Window, Chunks),
    [send_chunk(Rx, Chunk) || _ <- lists:seq(1, First)],
    sender(Rx, Chunk, First, Chunks),
    T1 = bench_util:now_ns(),
    bench_util:rate(Total, T1 - T0).

sender(Rx, Chunk, Sent, Chunks) ->
    receive
        ack when Sent < Chunks -> send_chunk(Rx, Chunk), sender(Rx, Chunk, Sent + 1, Chunks);
        ack -> sender(Rx, Chunk, Sent, Chunks);
        done -> ok
    end.

send_chunk(_Rx, 0) -> ok;
send_chunk(Rx, N) -> Rx ! 1, send_chunk(Rx, N - 1).

%% The receiver: counts, acks every Chunk messages, says done at Total.
rx(Sender, Chunk, Total) -> rx(Sender, Chunk, Total, 0).
rx(Sender, _Chunk, Total, N) when N >= Total -> Sender ! done;
rx(Sender, Chunk, Total, N) ->
    receive
        _ ->
            N1 = N + 1,
            case N1 rem Chunk of 0 -> Sender ! ack; _ -> ok end,
            rx(Sender, Chunk, Total, N1)
    end.

call_round(Echo, Total) ->
    T0 = bench_util:now_ns(),
    calls(Echo, 0, Total),
    T1 = bench_util:now_ns(),
    bench_util:rate(Total, T1 - T0).

calls(_Echo, I, Total) when I >= Total -> ok;
calls(Echo, I, Total) -> I = gen_server:call(Echo, I), calls(Echo, I + 1, Total).

%% --- the node ergo-ts talks to --------------------------------------------------------------------

%% Runs on a named VM: bench_echo answers calls; bench_ctl starts a receiver for {rx, From, Chunk, Total}.
serve() ->
    ok = start_echo(),
    register(bench_ctl, self()),
    io:format("ready~n"),
    ctl().

ctl() ->
    receive
        {rx, From, Chunk, Total} -> From ! {rx, spawn(?MODULE, rx, [From, Chunk, Total])};
        _ -> ok
    end,
    ctl().

start_echo() ->
    {ok, _} = gen_server:start({local, bench_echo}, ?MODULE, [], []),
    ok.

init([]) -> {ok, nostate}.
handle_call(X, _From, S) -> {reply, X, S}.
handle_cast(_, S) -> {noreply, S}.

note() ->
    lists:flatten(io_lib:format("schedulers: ~b", [erlang:system_info(schedulers_online)])).
