import { PageTitle, NotAvailable } from '../components/common';

export default function Duplicates() {
  return (
    <div>
      <PageTitle>Duplicates</PageTitle>
      <NotAvailable what="Duplicates" />
    </div>
  );
}
