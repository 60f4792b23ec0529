"""The lecture's topics on network architectures, in the course notes' order: a CNN on images,
an RNN (a GRU) on sequences, autoencoders, a GAN and a transformer."""

from __future__ import annotations

import numpy as np

from ._lecture_core import Context, Outcome, Topic, example_topic, load_example, png, pyplot, quietly


def _cnn(context: Context) -> Outcome:
    """examples/digits_cnn.py's network, trained with its data and settings (fewer epochs in --fast)."""
    import glassnet as gn
    from glassnet import losses, optim, plot

    example = load_example("digits_cnn")
    epochs = 8 if context.fast else 20
    X_train, X_test, y_train, y_test = example.load_data(context.seed)
    model = example.build_model(context.seed)
    history, printed = quietly(gn.fit, model, X_train, y_train, loss=losses.cross_entropy,
                               optimizer=optim.Adam(model.parameters(), lr=1e-3), epochs=epochs, batch_size=32,
                               validation_data=(X_test, y_test), seed=context.seed, verbose=0)
    accuracy = gn.evaluate(model, X_test, y_test, loss=losses.cross_entropy)["accuracy"]
    filters = model[0].weight.data[:, 0]            # (16, 3, 3): what the first layer looks for
    plt = pyplot()
    fig, axes = plt.subplots(2, 8, figsize=(8, 2.3))
    for ax, kernel in zip(axes.flat, filters):
        ax.imshow(kernel, cmap="RdBu_r", vmin=-np.abs(filters).max(), vmax=np.abs(filters).max())
        ax.set_axis_off()
    fig.suptitle("the first convolution's 16 learned 3x3 filters")
    numbers = [f"{len(X_train)} training and {len(X_test)} test images of 8x8 pixels; {model.num_parameters()} "
               "parameters (two 3x3 convolutions, max pooling, one linear layer)",
               f"test accuracy {accuracy:.4f} after {epochs} epochs (the claim: >= 0.96)"]
    figures = [("training and test loss and accuracy", png(plot.history(history, title="CNN on digits"))),
               ("learned filters", png(fig))]
    return Outcome(numbers, accuracy >= 0.96, figures, printed)


def _rnn(context: Context) -> Outcome:
    """examples/mnist1d_table.py's MLP and bidirectional GRU, one seed each (fewer steps in --fast)."""
    from glassnet.data import load_mnist1d

    example = load_example("mnist1d_table")
    steps = 1500 if context.fast else 6000
    data = load_mnist1d()   # the paper's data (its own seed); the lecture's seed draws the initial weights
    runs, printed = quietly(lambda: {name: example.run(name, context.seed, steps, data) for name in ("mlp", "gru")})
    mlp, gru = runs["mlp"]["accuracy"], runs["gru"]["accuracy"]
    results = {name: {"published": example.PUBLISHED[name]} for name in runs}
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.2))
    names = ["MLP", "GRU"]
    ax.bar(np.arange(2) - 0.2, [mlp, gru], width=0.4, label=f"glassnet, {steps} steps")
    ax.bar(np.arange(2) + 0.2, [results["mlp"]["published"], results["gru"]["published"]], width=0.4,
           label="published (6000 steps)")
    ax.set_xticks(range(2), names)
    ax.set_ylabel("test accuracy")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8)
    ax.set_title("MNIST-1D: a sequence model against an MLP")
    numbers = [f"MLP 40-100-100-10: test accuracy {mlp:.3f} (published {results['mlp']['published']:.2f})",
               f"bidirectional GRU reading the 40 values in order: test accuracy {gru:.3f} (published "
               f"{results['gru']['published']:.2f})",
               f"{steps} steps of batch 100, initial weights from seed {context.seed}; the claim: the GRU beats "
               "the MLP by at least 0.10"]
    return Outcome(numbers, gru >= mlp + 0.10, [("MNIST-1D test accuracy", png(fig))], printed)


def _autoencoder(r: dict, context: Context):
    results = r["results"]
    held = (all(run["nonlinear_ae"] < 0.97 * run["pca"] for run in results.values())
            and min(results[min(results)]["subspace_cosines"]) > 0.99)
    numbers = [f"code size {k}: test reconstruction error PCA {run['pca']:.5f}, linear AE {run['linear_ae']:.5f} "
               f"(subspace cosines with PCA >= {min(run['subspace_cosines']):.4f}), nonlinear AE "
               f"{run['nonlinear_ae']:.5f} ({run['nonlinear_ae'] / run['pca']:.3f} of PCA's)"
               for k, run in results.items()]
    noisy = r["denoising"]
    numbers.append(f"denoising (noise std {r['noise_std']}): noisy input {noisy['noisy_input']:.4f}, "
                   f"PCA {noisy['pca']:.4f}, "
                   f"plain AE {noisy['plain_ae']:.4f}, denoising AE {noisy['denoising_ae']:.4f}")
    return held, numbers


def _conv_autoencoder(r: dict, context: Context):
    results = r["results"]
    held = all(run["conv_ae"] < 0.97 * run["pca"] and run["conv_ae"] < run["dense_ae"] for run in results.values())
    return held, [f"code size {k}: test error PCA {run['pca']:.4f}, conv AE {run['conv_ae']:.4f}, dense AE "
                  f"{run['dense_ae']:.4f}" for k, run in results.items()]


def _gan(r: dict, context: Context):
    held = r["classifier_accuracy"] >= 0.97 and r["min_fraction"] >= 0.015 and r["mean_top_probability"] >= 0.8
    return held, [f"{r['steps']} steps; the judge (a classifier of real digits, test accuracy "
                  f"{r['classifier_accuracy']:.3f}) "
                  "labels 1000 generated samples",
                  "share of each digit: " + " ".join(f"{k}:{share:.3f}" for k, share in enumerate(r["histogram"])),
                  f"smallest share {r['min_fraction']:.3f} (every digit generated: >= 0.015), "
                  "mean top-class probability "
                  f"{r['mean_top_probability']:.3f} (>= 0.8; real digits {r['real_mean_top_probability']:.3f})"]


def _transformer(context: Context) -> Outcome:
    """examples/transformer_toy.py's model and data, trained by its own recipe (3 epochs in --fast)."""
    import glassnet as gn
    from glassnet import optim
    from glassnet.explain import attention_maps
    from glassnet.plot import attention_map

    example = load_example("transformer_toy")
    epochs, steps = (3, 100) if context.fast else (10, 100)
    source = example.SequenceSource("sort", held_out=2000, seed=context.seed)
    model = example.build_model(seed=context.seed)
    optimizer = optim.Adam(model.parameters(), lr=1e-3)
    curve = []
    for step in range(1, epochs * steps + 1):
        optimizer.lr = example.learning_rate(step, epochs * steps, 1e-3, 100)
        loss, _ = example.sequence_loss(model, *source.batch(64))
        optimizer.zero_grad()
        loss.backward()
        optim.clip_grad_norm(model.parameters(), 1.0)
        optimizer.step()
        if step % steps == 0:
            curve.append(example.accuracy(model, source.test_inputs, source.test_targets))
    token, whole = curve[-1]
    sample = source.test_inputs[:1]
    maps = attention_maps(model, sample)
    with gn.no_grad():
        model.eval()
        guess = model(sample).numpy().argmax(axis=-1)[0]
    name = sorted(maps)[-1]
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(4.5, 3.2))
    ax.plot(range(1, epochs + 1), [t for t, _ in curve], "o-", label="token accuracy")
    ax.plot(range(1, epochs + 1), [w for _, w in curve], "s--", label="whole sequence")
    ax.set_xlabel(f"epoch ({steps} steps)")
    ax.set_ylabel("held-out accuracy")
    ax.legend(fontsize=8)
    digits = [str(d) for d in sample[0]]
    attention = attention_map(maps[name][0], digits, average_heads=True, title=f"{name}, averaged over heads")
    numbers = [f"sorting 8 digits, {len(source.test_inputs)} held-out sequences: token accuracy {token:.4f}, whole "
               f"sequences {whole:.4f} after {epochs * steps} steps (the claim: >= 0.99 tokens)",
               f"{' '.join(digits)} -> {' '.join(map(str, guess))}"]
    return Outcome(numbers, token >= 0.99, [("held-out accuracy per epoch", png(fig)),
                                            ("attention of the last layer on one sequence", png(attention))])


TOPICS = [
    Topic("cnn", "Network Architectures", "A convolutional network on images",
          "Convolutional neural networks are specialized for grid-like data such as images: a small CNN "
          "classifies the 8x8 digits (test accuracy >= 0.96).", "examples/digits_cnn.py", _cnn),
    Topic("rnn", "Network Architectures", "A recurrent network on sequences",
          "Recurrent neural networks are designed for sequential data: a GRU that reads MNIST-1D's signal in order "
          "beats an MLP on the same data.", "examples/mnist1d_table.py", _rnn),
    example_topic("autoencoder", "Network Architectures", "Autoencoders learn efficient codings",
                  "Autoencoders learn efficient codings without labels: a linear one finds PCA's subspace, a "
                  "nonlinear one reconstructs better than PCA at the same code size.", "autoencoder_digits",
                  _autoencoder),
    example_topic("conv_autoencoder", "Network Architectures", "A convolutional autoencoder on signals",
                  "A convolutional autoencoder codes MNIST-1D's signals better than PCA and than a dense autoencoder.",
                  "conv_autoencoder_mnist1d", _conv_autoencoder, full_only=True),
    example_topic("gan", "Network Architectures", "A GAN generates digits",
                  "A generative adversarial network (a generator against a discriminator) generates new data: "
                  "digits of every class, recognized by a classifier trained on real ones.", "gan_digits", _gan),
    Topic("transformer", "Network Architectures", "A transformer learns to sort",
          "Transformer networks use self-attention: every position attends to every other, so a 2-layer encoder "
          "learns to sort a sequence of digits (held-out token accuracy >= 0.99).", "examples/transformer_toy.py",
          _transformer),
]
