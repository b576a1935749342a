%% Erlang peer of bench/src/suites/messaging.ts (same shapes):
%% - send: a sender sends Total integers to a receiver in chunks of Chunk, at most Window chunks in
%%   flight (the receiver acks every Chunk messages, each ack releases the next chunk); the clock
%%   runs from "go" to the receiver having counted Total.
%% - burst: the sender sends Total messages (the constant 1) back to back, no acks; the receiver
%%   counts; the clock runs from "go" to the receiver having counted Total.
%% - burst_retained: process_info(R, memory) of the idle receiver after a burst has been drained
%%   minus before it, both after garbage_collect(R) (bytes).
%% - call: a caller gen_server:call's an echo gen_server Total times in a row.
-module(bench_messaging).
-behaviour(gen_server).
-export([send_1to1/5, send_nn/6, send_burst/3, burst_retained/3, call_seq/3]).
-export([init/1, handle_call/3, handle_cast/2]).

send_1to1(Rounds, Warmup, Total, Chunk, Window) ->
    Samples = bench_util:rounds(Rounds, Warmup, fun() -> send_round(1, Total, Chunk, Window) end),
    bench_util:row(send_1to1, Samples, "same chunking, " ++ note()).

send_nn(Rounds, Warmup, Pairs, Total, Chunk, Window) ->
    Samples = bench_util:rounds(Rounds, Warmup, fun() -> send_round(Pairs, Total, Chunk, Window) end),
    bench_util:row(send_nn, Samples, "same chunking, " ++ note()).

send_burst(Rounds, Warmup, Total) ->
    Samples = bench_util:rounds(Rounds, Warmup, fun() -> burst_round(Total) end),
    bench_util:row(send_burst, Samples, "back to back, " ++ note()).

burst_retained(Rounds, Warmup, Total) ->
    Samples = bench_util:rounds(Rounds, Warmup, fun() -> retained_round(Total) end),
    bench_util:row(burst_retained, Samples, "process_info(R, memory) after garbage_collect, " ++ note()).

%% A burst pair: the receiver counts to Total, tells the parent, then waits for stop.
burst_pair(Total) ->
    Self = self(),
    R = spawn(fun() -> burst_receiver(Self, Total, 0) end),
    S = spawn(fun() -> receive go -> burst_send(R, Total) end end),
    {R, S}.

burst_round(Total) ->
    {R, S} = burst_pair(Total),
    T0 = bench_util:now_ns(),
    S ! go,
    receive {done, R} -> ok end,
    T1 = bench_util:now_ns(),
    R ! stop,
    bench_util:rate(Total, T1 - T0).

retained_round(Total) ->
    {R, S} = burst_pair(Total),
    Before = gc_memory(R),
    S ! go,
    receive {done, R} -> ok end,
    After = gc_memory(R),
    R ! stop,
    float(After - Before).

gc_memory(P) ->
    true = erlang:garbage_collect(P),
    {memory, M} = erlang:process_info(P, memory),
    M.

burst_receiver(Parent, Total, N) when N >= Total ->
    Parent ! {done, self()},
    receive stop -> ok end;
burst_receiver(Parent, Total, N) ->
    receive _ -> burst_receiver(Parent, Total, N + 1) end.

burst_send(_R, 0) ->
    ok;
burst_send(R, I) ->
    R ! 1,
    burst_send(R, I - 1).

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
