%% Erlang peer of bench/src/suites/messaging.ts (same shapes):
%% - send: a sender sends Total integers to a receiver in chunks of Chunk, at most Window chunks in
%%   flight (the receiver acks every Chunk messages, each ack releases the next chunk); the clock
%%   runs from "go" to the receiver having counted Total.
%% - call: a caller gen_server:call's an echo gen_server Total times in a row.
-module(bench_messaging).
-behaviour(gen_server).
-export([send_1to1/5, send_nn/6, call_seq/3]).
-export([init/1, handle_call/3, handle_cast/2]).

send_1to1(Rounds, Warmup, Total, Chunk, Window) ->
    Samples = bench_util:rounds(Rounds, Warmup, fun() -> send_round(1, Total, Chunk, Window) end),
    bench_util:row(send_1to1, Samples, "same chunking, " ++ note()).

send_nn(Rounds, Warmup, Pairs, Total, Chunk, Window) ->
    Samples = bench_util:rounds(Rounds, Warmup, fun() -> send_round(Pairs, Total, Chunk, Window) end),
    bench_util:row(send_nn, Samples, "same chunking, " ++ note()).

note() ->
    lists:flatten(io_lib:format("schedulers: ~b", [erlang:system_info(schedulers_online)])).

send_round(Pairs, Total, Chunk, Window) ->
    Self = self(),
    Senders = [begin
                   R = spawn(fun() -> receive {sender, S} -> receiver(S, Self, Total, Chunk, 0) end end),
                   S = spawn(fun() -> sender(R, Total, Chunk, Window) end),
                   R ! {sender, S},
                   S
               end || _ <- lists:seq(1, Pairs)],
    T0 = bench_util:now_ns(),
    [S ! go || S <- Senders],
    [receive {done, _} -> ok end || _ <- Senders],
    T1 = bench_util:now_ns(),
    bench_util:rate(Pairs * Total, T1 - T0).

receiver(Sender, Parent, Total, Every, N) ->
    receive
        _ ->
            N1 = N + 1,
            if
                N1 =:= Total -> Parent ! {done, self()};
                N1 rem Every =:= 0 -> Sender ! ack, receiver(Sender, Parent, Total, Every, N1);
                true -> receiver(Sender, Parent, Total, Every, N1)
            end
    end.

sender(R, Total, Chunk, Window) ->
    receive
        go ->
            Sent = lists:foldl(fun(_, S) -> burst(R, S, min(S + Chunk, Total)) end, 0, lists:seq(1, Window)),
            sender_loop(R, Sent, Total, Chunk)
    end.

sender_loop(_R, Sent, Total, _Chunk) when Sent >= Total ->
    ok;
sender_loop(R, Sent, Total, Chunk) ->
    receive
        ack -> sender_loop(R, burst(R, Sent, min(Sent + Chunk, Total)), Total, Chunk)
    end.

burst(R, I, End) when I < End ->
    R ! I,
    burst(R, I + 1, End);
burst(_R, I, _End) ->
    I.

call_seq(Rounds, Warmup, Total) ->
    {ok, Echo} = gen_server:start(?MODULE, [], []),
    Samples = bench_util:rounds(Rounds, Warmup, fun() -> call_round(Echo, Total) end),
    bench_util:row(call_seq, Samples, "gen_server:call, " ++ note()).

call_round(Echo, Total) ->
    Self = self(),
    Caller = spawn(fun() -> receive go -> calls(Echo, 0, Total), Self ! done end end),
    T0 = bench_util:now_ns(),
    Caller ! go,
    receive done -> ok end,
    T1 = bench_util:now_ns(),
    bench_util:rate(Total, T1 - T0).

calls(_Echo, I, Total) when I >= Total ->
    ok;
calls(Echo, I, Total) ->
    I = gen_server:call(Echo, I),
    calls(Echo, I + 1, Total).

init([]) -> {ok, nil}.
handle_call(Req, _From, State) -> {reply, Req, State}.
handle_cast(_Msg, State) -> {noreply, State}.
