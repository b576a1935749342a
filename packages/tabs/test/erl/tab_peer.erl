%% The Erlang side of tabs.erlang.test.ts: registered `box` and `victim` that answer [From, Bin]
%% with [<<"pong">>, Bin, self()] (lists and binaries: what the tab frame codec carries), a gen_server `adder`
%% that answers N with N + 1, prints "ready", then evaluates one Erlang expression per stdin line
%% ("Id Expr.") and prints "RESULT Id Value".
-module(tab_peer).
-behaviour(gen_server).
-export([start/0, eval_line/1, last/0, watch/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2]).

start() ->
    register(box, spawn(fun() -> box(none) end)),
    register(victim, spawn(fun() -> box(none) end)),
    {ok, _} = gen_server:start({local, adder}, ?MODULE, [], []),
    io:format("ready~n"),
    loop().

loop() ->
    case io:get_line('') of
        eof -> halt();
        {error, _} -> halt();
        Line ->
            spawn(?MODULE, eval_line, [Line]),
            loop()
    end.

eval_line(Line) ->
    {Id, Rest} = lists:splitwith(fun(C) -> C =/= $\s end, string:trim(Line)),
    Value = try
                {ok, Toks, _} = erl_scan:string(Rest),
                {ok, Exprs} = erl_parse:parse_exprs(Toks),
                {value, V, _} = erl_eval:exprs(Exprs, []),
                V
            catch C:R -> {caught, C, R}
            end,
    io:format("RESULT ~s ~w~n", [Id, Value]).

box(Last) ->
    receive
        {get, From} -> From ! {box, Last}, box(Last);
        [From, Bin] = M when is_pid(From) -> From ! [<<"pong">>, Bin, self()], box(M);
        M -> box(M)
    end.

%% The last message box had.
last() ->
    box ! {get, self()},
    receive {box, L} -> L after 10000 -> timeout end.

%% A process that traps exits links to and monitors Pid, makes sure both are in place with a
%% call after them (signals between two processes keep their order), and prints a WATCH line for
%% each signal that comes.
watch(Pid) ->
    Self = self(),
    spawn(fun() ->
                  process_flag(trap_exit, true),
                  link(Pid),
                  Ref = erlang:monitor(process, Pid),
                  Self ! {watching, gen_server:call(Pid, 1)},
                  watch_loop(Ref)
          end),
    receive {watching, R} -> R after 10000 -> timeout end.

watch_loop(Ref) ->
    receive
        {'DOWN', Ref, process, P, R} -> io:format("WATCH down ~w ~w~n", [P, R]);
        {'EXIT', P, R} -> io:format("WATCH exit ~w ~w~n", [P, R])
    end,
    watch_loop(Ref).

init([]) -> {ok, nostate}.
handle_call(N, _From, S) when is_integer(N) -> {reply, N + 1, S};
handle_call(Other, _From, S) -> {reply, [<<"what">>, Other], S}.
handle_cast(_, S) -> {noreply, S}.
handle_info(_, S) -> {noreply, S}.
