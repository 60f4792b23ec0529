"""The lecture's topics from the course's practical considerations (model interpretability) and
its advanced topics: transfer learning, generative models (VAE, GAN), self-supervised learning and
reinforcement learning. Each check uses the threshold the example's own test asserts."""

from __future__ import annotations

from ._lecture_core import Context, example_topic


def _tabular(r: dict, context: Context):
    held = r["test_accuracy"] >= 0.9 and r["spearman"] > 0.5 and r["top_k_overlap"] >= 3
    ranked = sorted(zip(r["feature_names"], r["ig_importance"]), key=lambda pair: -pair[1])[:3]
    return held, [f"wine, MLP 13-32-32-3: test accuracy {r['test_accuracy']:.3f}",
                  "largest mean |integrated gradients|: " + ", ".join(f"{name} {value:.2f}" for name, value in ranked),
                  "integrated gradients against permutation importance: Spearman rank correlation "
                  f"{r['spearman']:.3f}, "
                  f"{r['top_k_overlap']} of the top 5 features in common"]


def _digits(r: dict, context: Context):
    random = r["rank_correlation"]["+ conv 1 (all layers)"]
    held = (r["test_accuracy"] >= 0.95 and r["completeness_max"] <= 0.01 and random["saliency"] < 0.2
            and abs(random["Grad-CAM"]) < 0.2)
    return held, [f"CNN on digits: test accuracy {r['test_accuracy']:.3f}",
                  f"integrated gradients' completeness: |sum of attributions - (f(x) - f(baseline))| at most "
                  f"{r['completeness_max']:.1e} of the difference",
                  "model randomization (every layer re-initialized): rank correlation with the trained model's map: "
                  + ", ".join(f"{method} {value:.3f}" for method, value in random.items()),
                  f"maps that change with the model: {', '.join(r['changed'])}"]


def _transfer(r: dict, context: Context):
    at_10 = r["labels_per_class"].index(10)
    held = (r["fine_tune"][at_10] - r["scratch"][at_10] >= 0.10
            and all(probe - scratch >= 0.04 for probe, scratch in zip(r["probe"], r["scratch"])))
    numbers = [f"source task (MNIST-1D): test accuracy {r['source_accuracy']:.3f}; its head on the target: "
               f"{r['source_on_target']:.3f}"]
    for name in ("scratch", "probe", "fine_tune"):
        numbers.append(f"{name.replace('_', '-')}: target test accuracy " + ", ".join(
            f"{value:.3f} ({labels} labels/class)" for labels, value in zip(r["labels_per_class"], r[name])))
    return held, numbers


def _vae(r: dict, context: Context):
    held = r["test_nelbo"] < r["baseline_nll"] - 1.5
    return held, [f"test negative ELBO {r['test_nelbo']:.2f} nats per image after {r['epochs_run']} epochs (best "
                  f"validation epoch {r['best_epoch'] + 1})",
                  f"independent pixels (the baseline): {r['baseline_nll']:.2f} nats per image"]


def _gan_ring(r: dict, context: Context):
    plain, packed = r["GAN"], r["PacGAN2"]
    held = packed["modes"] == 8 and packed["high_quality"] >= 0.90
    return held, [f"{name}: {run['modes']} of 8 modes, {run['high_quality']:.1%} of samples high quality after "
                  f"{r['steps']} steps" for name, run in (("GAN", plain), ("PacGAN2", packed))]


def _self_supervised(r: dict, context: Context):
    accuracy = r["accuracy"]
    learned, random = accuracy["SimCLR encoder"], accuracy["random encoder"]
    held = (learned[0] >= 0.95 and learned[0] >= random[0] + 0.02 and learned[1] >= random[1] + 0.02
            and r["loss_history"][-1] < r["loss_history"][0])
    numbers = [f"SimCLR pretraining without labels: {r['epochs']} epochs, info_nce {r['loss_history'][0]:.3f} -> "
               f"{r['loss_history'][-1]:.3f}"]
    numbers += [f"{name}: logistic regression test accuracy {all_labels:.4f} (all labels), {subset:.4f} "
                f"({r['n_labeled_subset']} labels)" for name, (all_labels, subset) in accuracy.items()]
    return held, numbers


def _cartpole(r: dict, context: Context):
    agents = r["agents"]
    # where each agent started: its first 20 training episodes, a nearly random policy's returns
    first = {name: sum(agent["record"].episode_returns[:20]) / 20 for name, agent in agents.items()}
    held = (all(agent["eval_mean"] >= 3 * first[name] for name, agent in agents.items())
            and agents["REINFORCE"]["eval_mean"] >= 300 and agents["PPO"]["eval_mean"] >= 100)
    return held, [f"{name}: {agent['budget']:,} steps, mean return of the first 20 episodes {first[name]:.1f}, "
                  f"greedy evaluation {agent['eval_mean']:.1f} +- {agent['eval_std']:.1f} over "
                  f"{agent['eval_episodes']} episodes (CartPole solved: {r['threshold']:g})"
                  for name, agent in agents.items()]


def _pendulum(r: dict, context: Context):
    held = r["first_returns"] < -1000 and r["last_returns"] > -700 and r["eval_mean"] > -700
    return held, [f"PPO on Pendulum-v1: {r['total_timesteps']:,} steps, {r['episodes']} episodes",
                  f"mean return of the first 20 episodes {r['first_returns']:.1f}, of the last 100 "
                  f"{r['last_returns']:.1f}",
                  f"greedy evaluation {r['eval_mean']:.1f} +- {r['eval_std']:.1f}; policy std {r['final_std']:.2f}"]


PRACTICAL = [
    example_topic("explain_tabular", "Practical Considerations", "Model interpretability: which features matter",
                  "Model interpretability means understanding and explaining model decisions: two unrelated "
                  "attribution methods (integrated gradients, permutation importance) agree on the features a "
                  "network relies on.", "explain_tabular", _tabular),
    example_topic("explain_digits", "Practical Considerations", "Model interpretability: attributions of a CNN",
                  "Attributions explain a prediction pixel by pixel; a trustworthy one satisfies completeness and "
                  "changes when the model is randomized.", "explain_digits", _digits),
]

ADVANCED = [
    example_topic("transfer", "Advanced Topics in Deep Learning", "Transfer learning",
                  "Transfer learning leverages a pre-trained model for a new task: with few labels, a network "
                  "pre-trained on a related task beats one trained from scratch.", "transfer_learning", _transfer),
    example_topic("vae", "Advanced Topics in Deep Learning", "Generative models: a variational autoencoder",
                  "Variational autoencoders are generative models: they learn the data's distribution (a lower "
                  "negative ELBO than independent pixels) and sample new digits.", "vae_digits", _vae),
    example_topic("gan_modes", "Advanced Topics in Deep Learning", "Generative models: GAN mode collapse",
                  "A GAN can collapse onto a few modes of the data; packing the discriminator's inputs (PacGAN) "
                  "covers all 8 modes of a ring.", "gan_ring", _gan_ring, full_only=True),
    example_topic("self_supervised", "Advanced Topics in Deep Learning", "Self-supervised learning",
                  "Self-supervised learning learns representations from unlabeled data: a contrastively pre-trained "
                  "encoder beats a random one under a linear classifier.", "self_supervised", _self_supervised),
    example_topic("rl_cartpole", "Advanced Topics in Deep Learning", "Reinforcement learning: CartPole",
                  "Reinforcement learning trains agents to make decisions through rewards: each agent's final policy "
                  "returns at least 3 times what its first episodes did, and REINFORCE's nearly balances the pole "
                  "(>= 300 of 500).", "rl_cartpole", _cartpole),
    example_topic("rl_pendulum", "Advanced Topics in Deep Learning", "Reinforcement learning: a continuous action",
                  "Policy-gradient agents handle continuous actions too: PPO swings the pendulum up from a random "
                  "policy's returns.", "rl_continuous", _pendulum, full_only=True),
]
