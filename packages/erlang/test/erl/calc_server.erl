%% The Erlang gen_server the tests call from ergo-ts (ERLANG.md §6.1's calc contract).
-module(calc_server).
-behaviour(gen_server).
-export([start/0, init/1, handle_call/3, handle_cast/2, handle_info/2]).

start() -> gen_server:start({local, calc}, ?MODULE, #{}, []).

init(S) -> {ok, S}.

handle_call({add, A, B}, _From, S) -> {reply, A + B, S};
handle_call({mul, A, B}, _From, S) -> {reply, A * B, S};
handle_call({echo, T}, _From, S) -> {reply, T, S};
handle_call(whoami, _From, S) -> {reply, self(), S};
handle_call({get, K}, _From, S) -> {reply, maps:get(K, S, undefined), S};
handle_call({sleep, Ms}, _From, S) -> timer:sleep(Ms), {reply, slept, S};
handle_call({from_tag, _}, {_, Tag}, S) -> {reply, Tag, S};
handle_call({stop, R}, _From, S) -> {stop, R, ok, S}.

handle_cast({set, K, V}, S) -> {noreply, S#{K => V}};
handle_cast({stop, R}, S) -> {stop, R, S}.

handle_info(_, S) -> {noreply, S}.
