import pytest
import torch

from seqlab.nn.catalog import CELLS, POOLINGS
from seqlab.nn.encoder import RecurrentEncoder, detach_state, reverse_within_lengths
from seqlab.tasks.classify.config import ModelConfig
from seqlab.tasks.classify.network import SequenceClassifier


def test_reverse_within_lengths_leaves_padding():
    x = torch.tensor([[1, 2, 3, 0], [4, 5, 0, 0]]).unsqueeze(-1)
    out = reverse_within_lengths(x, torch.tensor([3, 2])).squeeze(-1)
    assert out.tolist() == [[3, 2, 1, 0], [5, 4, 0, 0]]


@pytest.mark.parametrize("cell", CELLS.names())
@pytest.mark.parametrize("bidirectional", [True, False])
@pytest.mark.parametrize("pooling", POOLINGS.names())
def test_padding_never_changes_a_prediction(cell, bidirectional, pooling):
    torch.manual_seed(0)
    config = ModelConfig(cell=cell, embedding_dim=8, hidden_size=8, num_layers=2,
                         bidirectional=bidirectional, pooling=pooling)
    model = SequenceClassifier(config, vocab_size=50, num_classes=3).eval()
    short = torch.tensor([[5, 9, 12]])
    long = torch.randint(2, 50, (1, 40))
    batch = torch.zeros(2, 40, dtype=torch.long)
    batch[0, :3] = short[0]
    batch[1] = long[0]
    with torch.no_grad():
        alone = model(short, torch.tensor([3]))
        together = model(batch, torch.tensor([3, 40]))
    torch.testing.assert_close(alone[0], together[0], atol=1e-5, rtol=1e-5)


def test_bidirectional_summary_matches_a_reference_bilstm():
    torch.manual_seed(0)
    encoder = RecurrentEncoder(4, 5, "lstm", num_layers=1, bidirectional=True)
    reference = torch.nn.LSTM(4, 5, batch_first=True, bidirectional=True)
    with torch.no_grad():
        for suffix, cell in (("", encoder.forward_cells[0]),
                             ("_reverse", encoder.backward_cells[0])):
            for name in ("weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"):
                getattr(reference, name + suffix).copy_(getattr(cell, name))
        x = torch.randn(1, 6, 4)
        out = encoder(x, torch.tensor([6]))
        expected, _ = reference(x)
    torch.testing.assert_close(out.states, expected)


@pytest.mark.parametrize("cell", CELLS.names())
def test_streaming_in_chunks_with_the_carried_state_equals_one_pass(cell):
    torch.manual_seed(0)
    encoder = RecurrentEncoder(4, 6, cell, num_layers=2, bidirectional=False).eval()
    x = torch.randn(3, 20, 4)
    with torch.no_grad():
        whole, _ = encoder.stream(x)
        first, state = encoder.stream(x[:, :7])
        second, _ = encoder.stream(x[:, 7:], detach_state(state))
        cold, _ = encoder.stream(x[:, 7:])
    torch.testing.assert_close(torch.cat([first, second], dim=1), whole)
    assert not torch.allclose(cold, whole[:, 7:])  # the carried state matters
    bidirectional = RecurrentEncoder(4, 6, cell, bidirectional=True)
    with pytest.raises(ValueError, match="bidirectional"):
        bidirectional.stream(x)
