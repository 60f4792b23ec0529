"""Reinforcement learning: wall time of ``learn(10_000)`` (interaction and training together),
glassnet's agents vs Stable-Baselines3's (PyTorch, CPU), with the same hyperparameters.

The settings are the RL Baselines3 Zoo's for CartPole-v1; each case runs at several network
widths (``--widths``), so the table shows where the small-network advantage ends, not only where
glassnet wins. Every run is a child process of its own, peers alternating, median of
``--repeats``; each child limits NumPy's BLAS (threadpoolctl) and PyTorch to ``--threads`` threads.

    python benchmarks/rl.py [--repeats 3] [--steps 10000] [--threads 1] [--cases dqn,ppo]
                            [--widths 64,64/256,256]

A case is one entry of ``CASES``: the environment (and how many copies, for a vector env), the
Zoo's hyperparameters in Stable-Baselines3's names, and the two classes' import paths.
Needs ``pip install glassnet[bench]`` (stable-baselines3).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time

PEERS = ("glassnet", "sb3")

CASES: dict[str, dict] = {
    # rl-baselines3-zoo, hyperparams/dqn.yml, CartPole-v1
    "dqn": dict(
        env="CartPole-v1", n_envs=1, glassnet="glassnet.rl:DQN", sb3="stable_baselines3:DQN",
        kwargs=dict(learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000,
                    gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128,
                    exploration_fraction=0.16, exploration_final_eps=0.04),
    ),
    # rl-baselines3-zoo, hyperparams/ppo.yml, CartPole-v1: 8 environments, lin_0.001 and lin_0.2
    "ppo": dict(
        env="CartPole-v1", n_envs=8, glassnet="glassnet.rl:PPO", sb3="stable_baselines3:PPO",
        kwargs=dict(n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20, ent_coef=0.0,
                    learning_rate=lambda progress_remaining: 1e-3 * progress_remaining,
                    clip_range=lambda progress_remaining: 0.2 * progress_remaining),
    ),
}


def make_env(case: dict, peer: str):
    import gymnasium as gym

    if case["n_envs"] == 1:
        return gym.make(case["env"])
    if peer == "sb3":
        from stable_baselines3.common.env_util import make_vec_env
        return make_vec_env(case["env"], n_envs=case["n_envs"], seed=0)
    return gym.make_vec(case["env"], num_envs=case["n_envs"], vectorization_mode="sync")


def agent_class(path: str):
    module, name = path.split(":")
    return getattr(__import__(module, fromlist=[name]), name)


def run_child(peer: str, case_name: str, widths: list[int], steps: int, threads: int) -> float:
    """Seconds that ``learn(steps)`` takes, in this process."""
    import numpy  # noqa: F401  (threadpoolctl limits only the BLAS libraries already loaded)
    from threadpoolctl import threadpool_limits

    threadpool_limits(threads)
    case = CASES[case_name]
    kwargs = dict(case["kwargs"], policy_kwargs=dict(net_arch=widths), seed=0)
    cls = agent_class(case[peer])
    env = make_env(case, peer)
    if peer == "sb3":
        import torch

        torch.set_num_threads(threads)
        agent = cls("MlpPolicy", env, device="cpu", **kwargs)
        start = time.perf_counter()
        agent.learn(steps)
    else:
        agent = cls(env, **kwargs)
        start = time.perf_counter()
        agent.learn(steps, progress=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--steps", type=int, default=10_000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--widths", default="64,64/256,256", help="network widths, '/' between settings")
    parser.add_argument("--peers", default=",".join(PEERS))
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        peer, case, width = args.child.split(":")
        seconds = run_child(peer, case, [int(w) for w in width.split(",")], args.steps, args.threads)
        print(json.dumps({"seconds": seconds}))
        return
    peers, cases, widths = args.peers.split(","), args.cases.split(","), args.widths.split("/")
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        parser.error(f"unknown case(s) {unknown}; known: {sorted(CASES)}")
    results: dict[tuple[str, str, str], list[float]] = {}
    for round_ in range(args.repeats):
        for case in cases:
            for width in widths:
                for peer in peers:
                    out = subprocess.run(
                        [sys.executable, __file__, "--child", f"{peer}:{case}:{width}",
                         "--steps", str(args.steps), "--threads", str(args.threads)],
                        capture_output=True, text=True, check=True,
                    )
                    seconds = json.loads(out.stdout.strip().splitlines()[-1])["seconds"]
                    results.setdefault((case, width, peer), []).append(seconds)
                    print(f"round {round_ + 1}: {case:4s} [{width}] {peer:8s} {seconds:7.2f} s", file=sys.stderr)
    per_10k = 10_000 / args.steps
    print(f"\nCartPole-v1, wall time of learn({args.steps:,}) scaled to 10,000 steps, "
          f"median of {args.repeats}, {args.threads} thread(s)")
    print(f"{'case':5s} {'net_arch':10s} {'glassnet s':>11s} {'sb3 s':>8s} {'sb3 / glassnet':>15s}")
    for case in cases:
        for width in widths:
            medians = {p: per_10k * statistics.median(results[(case, width, p)]) for p in peers}
            ratio = medians.get("sb3", float("nan")) / medians.get("glassnet", float("nan"))
            print(f"{case:5s} {'[' + width + ']':10s} {medians.get('glassnet', float('nan')):11.2f} "
                  f"{medians.get('sb3', float('nan')):8.2f} {ratio:14.2f}x")


if __name__ == "__main__":
    main()
